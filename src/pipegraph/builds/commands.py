"""Running one command of a buildpack: through the sandbox every command from an app goes through.

A build's commands see one writable folder, the build's workspace (BUILD_DIR, CACHE_DIR, ENV_DIR and HOME are in it),
and its buildpacks read-only; nothing else of the worker. Where a command sees those depends on the sandbox (at `/app`
and `/buildpacks/<n>` in bubblewrap, at their own paths unsandboxed), so the runner asks here before it builds argv.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipegraph.sandbox import Limits, Sandbox
from pipegraph.sandbox.host import WARNING

OnLine = Callable[[str], Awaitable[None]]
BUILDPACKS_PATH = "/buildpacks"
# cd into BUILD_DIR first, as Heroku runs a buildpack's scripts; the sandbox starts commands at its workspace root.
IN_BUILD_DIR = 'cd "$1" && shift && exec "$@"'


@dataclass(frozen=True)
class CommandOutcome:
    exit_code: int | None  # None when it was stopped (time, output) or could not start
    timed_out: bool = False
    start_error: str | None = None  # why it could not start, or the limit that stopped it


class CommandRunner(Protocol):
    def workspace_path(self, workspace: Path) -> str:
        """Where the commands see the workspace."""
        ...

    def buildpack_path(self, index: int, folder: Path) -> str:
        """Where the commands see the build's `index`-th buildpack."""
        ...

    async def run(
        self,
        argv: Sequence[str],
        *,
        workspace: Path,
        build_dir: str,
        buildpacks: Sequence[Path],
        env: Mapping[str, str],
        time_limit: float,
        on_line: OnLine,
    ) -> CommandOutcome: ...


class SandboxCommands:
    """Each command in the worker's sandbox, with the sandbox's limits; its process group dies with it."""

    def __init__(self, sandbox: Sandbox, limits: Limits) -> None:
        self.sandbox, self.limits = sandbox, limits

    def workspace_path(self, workspace: Path) -> str:
        return self.sandbox.app_path(workspace)

    def buildpack_path(self, index: int, folder: Path) -> str:
        # Unsandboxed, binds are not remapped: the command sees the host's paths.
        return f"{BUILDPACKS_PATH}/{index}" if self.sandbox.isolated else str(folder)

    async def run(
        self,
        argv: Sequence[str],
        *,
        workspace: Path,
        build_dir: str,
        buildpacks: Sequence[Path],
        env: Mapping[str, str],
        time_limit: float,
        on_line: OnLine,
    ) -> CommandOutcome:
        if time_limit <= 0:
            return CommandOutcome(exit_code=None, timed_out=True)
        binds = {self.buildpack_path(index, folder): folder for index, folder in enumerate(buildpacks)}

        async def output(line: str) -> None:
            if line != WARNING:  # said once for the whole build instead (LocalBuildRunner)
                await on_line(line)

        outcome = await self.sandbox.run(
            ["/bin/sh", "-c", IN_BUILD_DIR, "sh", build_dir, *argv],
            workdir=workspace,
            env=env,
            limits=self.limits,
            timeout=time_limit,
            on_output_line=output,
            readonly_binds=binds if self.sandbox.isolated else None,
        )
        if outcome.output_truncated or outcome.setup_error:
            problem = outcome.problem(what=Path(argv[0]).name, timeout=time_limit, limits=self.limits)
            return CommandOutcome(exit_code=None, start_error=problem)
        return CommandOutcome(exit_code=outcome.exit_code, timed_out=outcome.timed_out)
