"""What every sandbox takes and gives back, whatever isolates the command (bubblewrap here, a cluster runner later)."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

OnLine = Callable[[str], Awaitable[None]]

MIB = 1024 * 1024
CPU_GRACE_SECONDS = 5

# Signals a limit ends a command with: named in the error, so "status 152" reads as what it is.
LIMIT_SIGNALS = {
    signal.SIGXCPU: "the CPU time limit was reached",
    signal.SIGXFSZ: "the file size limit was reached",
    signal.SIGKILL: "it was killed",
    signal.SIGSEGV: "it crashed (often: out of memory under the memory limit)",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one command, each applied to every process it starts (rlimits) or to the whole run."""

    processes: int = 256  # RLIMIT_NPROC: processes of the sandbox user, the fork-bomb fuse
    # RLIMIT_AS per process: address space, not resident memory; a JVM reserves over 2 GiB before its first byte.
    memory_bytes: int = 4096 * MIB
    cpu_seconds: int = 600  # RLIMIT_CPU per process; the wall-clock timeout bounds the run as a whole
    open_files: int = 1024  # RLIMIT_NOFILE
    file_bytes: int = 1024 * MIB  # RLIMIT_FSIZE: the largest file it may write
    output_bytes: int = 1 * MIB  # past this the command is stopped and its output cut
    output_lines: int = 10_000  # each line is one event for subscribers: bounded apart from its bytes
    tmp_bytes: int = 256 * MIB  # the private /tmp is memory (tmpfs): capped

    def prlimit_args(self) -> list[str]:
        """Options of util-linux `prlimit`, which sets them on itself and keeps them across exec."""
        return [
            f"--nproc={self.processes}",
            f"--as={self.memory_bytes}",
            # SIGXCPU at the soft limit names the cause; SIGKILL a little later for a command that ignores it.
            f"--cpu={self.cpu_seconds}:{self.cpu_seconds + CPU_GRACE_SECONDS}",
            f"--nofile={self.open_files}",
            f"--fsize={self.file_bytes}",
            "--core=0",  # a crash must not write a memory image into the app folder
        ]


@dataclass(frozen=True)
class Outcome:
    """How a sandboxed command ended."""

    exit_code: int | None  # None when pipegraph stopped it (timeout, output cap) or it never started
    timed_out: bool = False
    output_truncated: bool = False  # stopped for printing past Limits.output_bytes / output_lines
    setup_error: str | None = None  # why it could not even start

    @property
    def succeeded(self) -> bool:
        return self.setup_error is None and not self.timed_out and not self.output_truncated and self.exit_code == 0

    @property
    def killed_by_limit(self) -> str | None:
        """The limit that ended the command, when its status says so (CPU time or file size: they signal)."""
        if self.output_truncated:
            return "output"
        if self.exit_code is not None and self.exit_code - 128 in (signal.SIGXCPU, signal.SIGXFSZ):
            return signal.Signals(self.exit_code - 128).name
        return None

    def problem(self, *, what: str, timeout: float, limits: Limits) -> str | None:
        """One clear sentence on why it failed (None when it succeeded); `what` names the command for people."""
        if self.setup_error:
            return self.setup_error
        if self.timed_out:
            return f"{what} timed out after {timeout:g}s"
        if self.output_truncated:
            return (
                f"{what} printed more than {_size(limits.output_bytes)} or {limits.output_lines} lines "
                "of output: it was stopped and its output cut there"
            )
        if self.exit_code is None or self.exit_code == 0:
            return None
        return f"{what} exited with status {self.exit_code}{_signal_hint(self.exit_code)}"


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count} bytes"


def _signal_hint(code: int) -> str:
    # A shell (and bubblewrap's init) reports a child killed by signal N as status 128 + N.
    if code > 128:
        try:
            number = signal.Signals(code - 128)
        except ValueError:
            return ""
        reason = LIMIT_SIGNALS.get(number)
        if reason:
            return f" ({number.name}: {reason})"
    return ""


class Sandbox(Protocol):
    """Runs one untrusted command. Implementations: `BubblewrapSandbox`, and `HostProcess` for development."""

    name: str
    isolated: bool  # False: the command runs with pipegraph's own rights (development only)

    def app_path(self, workdir: Path) -> str:
        """Where the command sees `workdir` (its current directory and HOME)."""
        ...

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
        """Run `argv` in `workdir` (writable; the only app files it sees), stdout and stderr merged line by line.

        `readonly_binds` maps a path inside to a host path (a buildpack, a cache): visible read-only, nothing else
        of the host's files beyond the system folders needed to run commands.
        """
        ...
