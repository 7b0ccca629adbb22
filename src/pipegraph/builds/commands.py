"""Running one command of a buildpack: the seam where a sandbox (or a cluster runner) plugs in.

The local runner gives each command its own session and process group and kills the whole group when the command
ends or its time is up, so nothing a buildpack started outlives its step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

OnLine = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int | None  # None when it timed out or could not start
    timed_out: bool = False
    start_error: str | None = None


class CommandRunner(Protocol):
    async def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], time_limit: float, on_line: OnLine
    ) -> CommandOutcome: ...


class LocalCommandRunner:
    """A local subprocess in its own process group; stdout and stderr merged, line by line."""

    async def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], time_limit: float, on_line: OnLine
    ) -> CommandOutcome:
        if time_limit <= 0:
            return CommandOutcome(exit_code=None, timed_out=True)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=1024 * 1024,
            )
        except OSError as error:
            return CommandOutcome(exit_code=None, start_error=f"{Path(argv[0]).name} could not start: {error.strerror}")
        timed_out = False
        try:
            await asyncio.wait_for(_follow(process, on_line), timeout=time_limit)
        except TimeoutError:
            timed_out = True
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            code = await process.wait()
        return CommandOutcome(exit_code=None if timed_out else code, timed_out=timed_out)


async def _follow(process: asyncio.subprocess.Process, on_line: OnLine) -> None:
    assert process.stdout is not None
    async for raw in process.stdout:
        await on_line(raw.decode(errors="replace").rstrip("\r\n"))
    await process.wait()
