"""The release phase: a slug's `release` command, run in a fresh extraction with the app's own config vars.

Behind a small runner interface so a container runner can stand beside the local one later.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tarfile
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# A plain PATH, not the worker's: the command must not depend on how the worker happened to be started.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
OnLine = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ReleasePhaseRequest:
    blob: Path  # the slug's verified tar.gz
    command: str
    config_vars: Mapping[str, str]
    stack: str
    commit: str | None = None
    timeout: float = 30.0


@dataclass
class ReleasePhaseResult:
    exit_code: int | None  # None when it was killed for running too long, or never started
    timed_out: bool
    lines: list[str] = field(default_factory=list)
    setup_error: str | None = None  # why the command could not even start

    @property
    def succeeded(self) -> bool:
        return self.setup_error is None and not self.timed_out and self.exit_code == 0

    def error_message(self, timeout: float) -> str | None:
        if self.setup_error:
            return self.setup_error
        if self.timed_out:
            return f"release phase timed out after {timeout:g}s"
        if self.exit_code != 0:
            return f"release command exited with status {self.exit_code}"
        return None


class ReleasePhaseRunner(Protocol):
    async def run(self, request: ReleasePhaseRequest, on_line: OnLine) -> ReleasePhaseResult: ...


def release_environment(request: ReleasePhaseRequest, home: Path) -> dict[str, str]:
    """The target's config vars plus what a dyno always has; nothing of the worker's own environment leaks in."""
    env = {str(key): str(value) for key, value in request.config_vars.items()}
    env.update(
        {
            "PATH": env.get("PATH", DEFAULT_PATH),
            "HOME": str(home),
            "PORT": "5000",
            "DYNO": "release.1",
            "PS": "release.1",
            "STACK": request.stack,
        }
    )
    if request.commit:
        env["SOURCE_VERSION"] = request.commit
    return env


def _extract(blob: Path, into: Path) -> Path:
    with tarfile.open(blob, "r:gz") as tar:
        # The "data" filter refuses absolute paths, links out of the folder and device files, whatever the upload.
        tar.extractall(into, filter="data")
    return into / "app"


class LocalProcessRunner:
    """Runs the command as a local subprocess, in its own process group so a timeout kills all it started."""

    async def run(self, request: ReleasePhaseRequest, on_line: OnLine) -> ReleasePhaseResult:
        with tempfile.TemporaryDirectory(prefix="pipegraph-release-") as workdir:
            try:
                app_dir = await asyncio.to_thread(_extract, request.blob, Path(workdir))
            except (tarfile.TarError, OSError) as error:
                # A verdict, not a crash: retrying the same bytes would fail the same way.
                return ReleasePhaseResult(
                    exit_code=None, timed_out=False, setup_error=f"slug could not be extracted: {error}"
                )
            app_dir.mkdir(exist_ok=True)
            process = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                request.command,
                cwd=app_dir,
                env=release_environment(request, app_dir),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=1024 * 1024,  # one output line may be long (a stack trace, a JSON blob)
            )
            result = ReleasePhaseResult(exit_code=None, timed_out=False)
            try:
                await asyncio.wait_for(self._follow(process, result, on_line), timeout=request.timeout)
            except TimeoutError:
                result.timed_out = True
            finally:
                # Kill the whole group: a timed-out command or one that left children behind must not linger.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                code = await process.wait()
            result.exit_code = None if result.timed_out else code
            return result

    @staticmethod
    async def _follow(process: asyncio.subprocess.Process, result: ReleasePhaseResult, on_line: OnLine) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            result.lines.append(line)
            await on_line(line)
        await process.wait()
