"""The release phase: a slug's `release` command, run in a fresh extraction with the app's own config vars, inside
the sandbox every command from an app goes through (`pipegraph.sandbox`).

Behind a small runner interface so a container or cluster runner can stand beside the local one later.
"""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipegraph.sandbox import Limits, Outcome, Sandbox, Workspaces, open_sandbox
from pipegraph.sandbox.workspace import remove_tree
from pipegraph.settings import Settings

# A plain PATH, not the worker's: the command must not depend on how the worker happened to be started.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
WORKSPACE_PREFIX = "pipegraph-release-"
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
    exit_code: int | None  # None when it was stopped (too long, too much output), or never started
    timed_out: bool
    lines: list[str] = field(default_factory=list)
    setup_error: str | None = None  # why the command could not even start
    output_truncated: bool = False
    limits: Limits = field(default_factory=Limits)

    @property
    def succeeded(self) -> bool:
        return self._outcome().succeeded

    def error_message(self, timeout: float) -> str | None:
        if self.timed_out and not self.setup_error:
            return f"release phase timed out after {timeout:g}s"
        return self._outcome().problem(what="release command", timeout=timeout, limits=self.limits)

    def _outcome(self) -> Outcome:
        return Outcome(
            exit_code=self.exit_code,
            timed_out=self.timed_out,
            output_truncated=self.output_truncated,
            setup_error=self.setup_error,
        )


class ReleasePhaseRunner(Protocol):
    async def run(self, request: ReleasePhaseRequest, on_line: OnLine) -> ReleasePhaseResult: ...


def release_environment(request: ReleasePhaseRequest, home: str) -> dict[str, str]:
    """The target's config vars plus what a dyno always has; nothing of the worker's own environment leaks in."""
    env = {str(key): str(value) for key, value in request.config_vars.items()}
    env.update(
        {
            "PATH": env.get("PATH", DEFAULT_PATH),
            "HOME": home,
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
    """Runs the command on this machine, in the sandbox: a fresh extraction is its only app folder."""

    def __init__(self, sandbox: Sandbox, limits: Limits | None = None, workspaces: Workspaces | None = None) -> None:
        self.sandbox = sandbox
        self.limits = limits or Limits()
        self.workspaces = workspaces or Workspaces(WORKSPACE_PREFIX)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalProcessRunner:
        """At worker start: refuses (SandboxUnavailable) when the sandbox cannot run and was not waived, and sweeps
        the extraction folders a killed worker left behind."""
        runner = cls(open_sandbox(settings.sandbox), settings.sandbox.limits)
        runner.workspaces.sweep()
        return runner

    async def run(self, request: ReleasePhaseRequest, on_line: OnLine) -> ReleasePhaseResult:
        lines: list[str] = []

        async def collect(line: str) -> None:
            lines.append(line)
            await on_line(line)

        with self.workspaces.new() as folder:
            try:
                try:
                    app_dir = await asyncio.to_thread(_extract, request.blob, folder)
                except (tarfile.TarError, OSError) as error:
                    # A verdict, not a crash: retrying the same bytes would fail the same way.
                    return ReleasePhaseResult(
                        exit_code=None, timed_out=False, setup_error=f"slug could not be extracted: {error}"
                    )
                app_dir.mkdir(exist_ok=True)
                outcome = await self.sandbox.run(
                    ["/bin/sh", "-c", request.command],
                    workdir=app_dir,
                    env=release_environment(request, self.sandbox.app_path(app_dir)),
                    limits=self.limits,
                    timeout=request.timeout,
                    on_output_line=collect,
                )
            finally:
                # A large extraction takes a while to remove: not on the event loop.
                await asyncio.to_thread(remove_tree, folder)
        return ReleasePhaseResult(
            exit_code=outcome.exit_code,
            timed_out=outcome.timed_out,
            lines=lines,
            setup_error=outcome.setup_error,
            output_truncated=outcome.output_truncated,
            limits=self.limits,
        )
