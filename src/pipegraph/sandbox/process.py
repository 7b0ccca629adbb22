"""Starting the outermost process of a sandbox and following it: lines as they come, caps, timeout, group kill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from pipegraph.sandbox.base import Limits, OnLine, Outcome

READ_CHUNK = 64 * 1024
# A line longer than this is handed on in pieces: one endless line (`cat /dev/zero`) must not grow a buffer.
MAX_LINE_BYTES = 64 * 1024
# util-linux and coreutils, on every Debian-like system: the guard around every sandboxed command (see `guard`).
GUARD_TOOLS = ("setpriv", "prlimit", "timeout")
# The command's own deadline fires this long after the worker's timeout: normally the worker stops it first and
# reports it; the deadline holds when the worker cannot (frozen, or its event loop stuck).
DEADLINE_GRACE_SECONDS = 2.0
# How long a sandbox's processes may take to die once its init is killed (the kernel does it; it is quick).
TEARDOWN_SECONDS = 5.0


def find_tools(names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Paths of the tools found on PATH, and the names of those missing."""
    found = {name: path for name in names if (path := shutil.which(name))}
    return found, [name for name in names if name not in found]


def guard(tools: Mapping[str, str], limits: Limits, timeout: float) -> list[str]:
    """The wrappers between the worker and the command, each exec'ing the next (one process, the worker's child):
    setpriv gives it a parent-death signal, so it dies with the worker even when SIGKILLed; prlimit sets the rlimits
    that everything below inherits; timeout kills it at its deadline even when the worker is frozen. With the lease
    longer than that deadline, a re-run of the job never overlaps a run still going. Missing tools are skipped
    (only the unsandboxed mode allows that)."""
    prefix: list[str] = []
    if "setpriv" in tools:
        prefix += [tools["setpriv"], "--pdeathsig", "KILL", "--"]
    if "prlimit" in tools:
        prefix += [tools["prlimit"], *limits.prlimit_args(), "--"]
    if "timeout" in tools:
        prefix += [tools["timeout"], "--signal=KILL", f"{timeout + DEADLINE_GRACE_SECONDS:.3f}s"]
    return prefix


@dataclass(frozen=True)
class Credentials:
    """Who the outermost process runs as: set by Python between fork and exec, never by the command."""

    uid: int | None = None  # None: the worker's own user
    gid: int | None = None


@dataclass(frozen=True)
class Launch:
    """The outermost process of one run: what to exec, where, as whom, with which descriptors kept open."""

    argv: list[str]
    cwd: Path
    credentials: Credentials = Credentials()
    pass_fds: tuple[int, ...] = ()
    info_fd: int | None = None  # non-blocking; bubblewrap writes {"child-pid": …} there once the sandbox is up

    def sandbox_init(self) -> int | None:
        """The host pid of the sandbox's init (pid 1 of its namespace), once known."""
        if self.info_fd is None:
            return None
        try:
            info = json.loads(os.read(self.info_fd, 65536))
        except (BlockingIOError, ValueError):
            return None  # not up yet, or said something else: the group kill remains
        pid = info.get("child-pid") if isinstance(info, dict) else None
        return pid if isinstance(pid, int) else None


@dataclass(frozen=True)
class Plan:
    """One command to wrap: what runs, in which folder, behind which wrappers (see `guard`), seeing what, as whom."""

    argv: Sequence[str]
    workdir: Path
    wrappers: list[str]
    limits: Limits
    readonly_binds: Mapping[str, Path]
    credentials: Credentials = Credentials()


class LocalSandbox:
    """A sandbox whose command is a local process; subclasses say how it is wrapped (`_launch`)."""

    name = "local"
    isolated = False
    tools: Mapping[str, str] = {}

    def app_path(self, workdir: Path) -> str:
        return str(workdir)

    async def run(
        self,
        argv: Sequence[str],
        *,
        workdir: Path,
        env: Mapping[str, str],
        limits: Limits,
        timeout: float,  # noqa: ASYNC109 - the command's budget: past it the command is killed and that reported
        on_output_line: OnLine,
        readonly_binds: Mapping[str, Path] | None = None,
    ) -> Outcome:
        await self._announce(on_output_line)
        async with self._user() as credentials:
            # Handing a large extraction over file by file takes a while: not on the event loop.
            await asyncio.to_thread(self._prepare, workdir, credentials)
            wrappers = guard(self.tools, limits, timeout)
            plan = Plan(argv, workdir, wrappers, limits, readonly_binds or {}, credentials)
            with self._launch(plan) as launch:
                return await run_process(launch, env=env, limits=limits, timeout=timeout, on_output_line=on_output_line)

    async def _announce(self, on_output_line: OnLine) -> None:
        """Lines said before the command's own output."""

    def _user(self) -> AbstractAsyncContextManager[Credentials]:
        """Who the command runs as, held for the run: the worker's own user unless a subclass says otherwise."""
        return contextlib.nullcontext(Credentials())

    def _prepare(self, workdir: Path, credentials: Credentials) -> None:
        """Make the work folder usable by the command, before it starts."""

    def _launch(self, plan: Plan) -> AbstractContextManager[Launch]:
        """The process to start, the plan's wrappers first."""
        raise NotImplementedError


@dataclass
class _Reader:
    on_line: OnLine
    limits: Limits
    seen_bytes: int = 0
    seen_lines: int = 0
    truncated: bool = False
    pending: bytearray = field(default_factory=bytearray)

    async def follow(self, stream: asyncio.StreamReader) -> None:
        while not self.truncated:
            chunk = await stream.read(READ_CHUNK)
            if not chunk:
                break
            room = self.limits.output_bytes - self.seen_bytes
            cut = len(chunk) > room
            self.seen_bytes += min(len(chunk), room)
            self.pending += chunk[:room]
            await self._emit_complete_lines()
            # What came before the cap is handed on whole, the unfinished last line included.
            if cut:
                await self._emit_rest()
                self.truncated = True
        await self._emit_rest()

    async def _emit_rest(self) -> None:
        if self.pending and not self.truncated:
            await self._emit(bytes(self.pending))
        self.pending.clear()

    async def _emit_complete_lines(self) -> None:
        while not self.truncated:
            end = self.pending.find(b"\n")
            if end < 0:
                if len(self.pending) < MAX_LINE_BYTES:
                    return
                end = MAX_LINE_BYTES
                line, rest = bytes(self.pending[:end]), self.pending[end:]
            else:
                line, rest = bytes(self.pending[:end]), self.pending[end + 1 :]
            self.pending = bytearray(rest)
            await self._emit(line)

    async def _emit(self, raw: bytes) -> None:
        if self.seen_lines >= self.limits.output_lines:
            self.truncated = True
            return
        self.seen_lines += 1
        await self.on_line(raw.decode(errors="replace").rstrip("\r"))


async def run_process(
    launch: Launch,
    *,
    env: Mapping[str, str],
    limits: Limits,
    timeout: float,  # noqa: ASYNC109 - see LocalSandbox.run
    on_output_line: OnLine,
) -> Outcome:
    """Run argv in a session of its own and follow its merged output; on timeout, on output past the caps, on
    cancellation, and after it ends, its whole process group is killed so nothing it started lingers."""
    drop: dict[str, object] = {}
    if launch.credentials.uid is not None:
        # setgroups([]) then setgid then setuid, in the child before exec: it keeps no group and no capability.
        drop = {"user": launch.credentials.uid, "group": launch.credentials.gid, "extra_groups": []}
    # Our own pipe rather than asyncio's: when output is cut off it is closed here, whoever still holds its other end.
    read_end, write_end = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            *launch.argv,
            cwd=launch.cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_end,
            stderr=write_end,
            start_new_session=True,
            pass_fds=launch.pass_fds,
            **drop,  # type: ignore[arg-type]
        )
    except OSError as error:
        os.close(read_end)
        return Outcome(exit_code=None, setup_error=f"the command could not be started: {error}")
    finally:
        os.close(write_end)
    stream = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stream), os.fdopen(read_end, "rb", buffering=0)
    )
    reader = _Reader(on_output_line, limits)
    timed_out = False
    try:
        async with asyncio.timeout(timeout):
            await reader.follow(stream)
            if not reader.truncated:
                # Output closed, but the command may still run without any (it closed stdout): it has the same time.
                await process.wait()
    except TimeoutError:
        timed_out = True
    finally:
        transport.close()
        if process.returncode is None:
            await _stop_from_the_inside(process, launch)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        code = await process.wait()
    stopped = timed_out or reader.truncated
    return Outcome(
        exit_code=None if stopped else _status(code),
        timed_out=timed_out,
        output_truncated=reader.truncated and not timed_out,
    )


async def _stop_from_the_inside(process: asyncio.subprocess.Process, launch: Launch) -> None:
    """Kill the sandbox's init first: the kernel then kills everything in its pid namespace and its init ends only once
    they are all gone, so when this returns no process of the command still counts against its user's limits (a
    group kill alone would leave that to finish after us). Only sandboxes that report their init do this."""
    init = launch.sandbox_init()
    if init is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(init, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), TEARDOWN_SECONDS)


def _status(returncode: int) -> int:
    # Python reports death by signal N as -N; say it as shells and bubblewrap do (128 + N), one convention for all.
    return 128 - returncode if returncode < 0 else returncode
