"""The buildpack runner: Heroku's classic buildpack API over a prepared BUILD_DIR.

Behind a small interface (like the release-phase runner) so a cluster runner can replace the local one: it gets a
build folder, a cache folder and resolved buildpacks, and answers with the process types or why the build failed.
Packing the slug and releasing it stay with the caller.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipegraph.builds.commands import CommandOutcome, CommandRunner, OnLine
from pipegraph.builds.procfile import has_procfile, parse_release_output, read_procfile
from pipegraph.core.errors import DomainError

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
NO_DETECT = "No default language could be detected for this app."
INDENT = "       "


@dataclass(frozen=True)
class Buildpack:
    name: str  # as the app or the build names it
    path: Path  # a folder holding bin/detect, bin/compile and maybe bin/release
    # pipegraph's own `procfile` buildpack: the local runner does its steps itself (they only look for a Procfile and
    # run no code of the app's or anyone's), sparing a sandbox start for each; its scripts say the same for a runner
    # that runs every buildpack as commands.
    builtin: bool = False


@dataclass(frozen=True)
class BuildRequest:
    """`workspace` is the one folder the buildpacks may write: BUILD_DIR (`build/`, the source, becoming the slug)
    and CACHE_DIR (`cache/`) are in it, and ENV_DIR and HOME are made in it; a sandbox binds it alone, writable,
    beside the buildpacks read-only."""

    workspace: Path
    buildpacks: tuple[Buildpack, ...]
    # A list chosen by the user runs whole, each buildpack must detect; the defaults: the first that detects.
    explicit: bool
    config_vars: Mapping[str, str]
    stack: str
    source_version: str | None
    timeout: float

    @property
    def build_dir(self) -> Path:
        return self.workspace / "build"

    @property
    def cache_dir(self) -> Path:
        return self.workspace / "cache"


@dataclass
class BuildResult:
    error_message: str | None = None
    buildpacks_used: list[str] = field(default_factory=list)
    process_types: dict[str, str] = field(default_factory=dict)


class BuildRunner(Protocol):
    async def run(self, request: BuildRequest, on_line: OnLine) -> BuildResult: ...


class BuildFailed(Exception):
    """Ends a build: its message is the build's error, already printed as Heroku would."""


class LocalBuildRunner:
    """Runs a build's buildpacks on this worker, each command through `commands` (the sandbox)."""

    def __init__(self, commands: CommandRunner, *, warning: str | None = None) -> None:
        self.commands = commands
        self.warning = warning  # said once at the top of every build, when commands run unsandboxed

    async def run(self, request: BuildRequest, on_line: OnLine) -> BuildResult:
        result = BuildResult()
        step = _Steps(self.commands, request, on_line)
        try:
            if self.warning:
                await on_line(self.warning)
            await on_line(f"-----> Building on the {request.stack} stack")
            chosen = await step.choose_buildpacks()
            defaults: dict[str, str] = {}
            for buildpack, language in chosen:
                result.buildpacks_used.append(buildpack.name)
                await on_line(f"-----> {language} app detected")
                await step.compile(buildpack, language)
                defaults.update(await step.release(buildpack))
            result.process_types = await step.process_types(defaults)
        except BuildFailed as failure:
            result.error_message = str(failure)
            await on_line(f" !     {failure}")
        return result


class _Steps:
    def __init__(self, commands: CommandRunner, request: BuildRequest, on_line: OnLine) -> None:
        self.commands, self.request, self.on_line = commands, request, on_line
        self.deadline = time.monotonic() + request.timeout
        env_dir = request.workspace / "env"
        env_dir.mkdir()
        # Heroku's ENV_DIR: one file per config var, named after it, holding its value.
        for key, value in request.config_vars.items():
            (env_dir / key).write_text(str(value))
        (request.workspace / "home").mkdir()
        # The folders as the commands see them (inside a sandbox they live elsewhere than on the host).
        inside = commands.workspace_path(request.workspace)
        self.build_dir, self.cache_dir = f"{inside}/build", f"{inside}/cache"
        self.env_dir, self.home = f"{inside}/env", f"{inside}/home"

    def _env(self) -> dict[str, str]:
        env = {"PATH": DEFAULT_PATH, "HOME": self.home, "STACK": self.request.stack, "LANG": "C.UTF-8"}
        if self.request.source_version:
            env["SOURCE_VERSION"] = self.request.source_version
        return env

    async def _run(self, buildpack: Buildpack, script: str, args: list[str], on_line: OnLine) -> CommandOutcome:
        remaining = self.deadline - time.monotonic()
        index = self.request.buildpacks.index(buildpack)
        outcome = await self.commands.run(
            [f"{self.commands.buildpack_path(index, buildpack.path)}/bin/{script}", *args],
            workspace=self.request.workspace,
            build_dir=self.build_dir,
            buildpacks=[pack.path for pack in self.request.buildpacks],
            env=self._env(),
            time_limit=remaining,
            on_line=on_line,
        )
        if outcome.timed_out:
            raise BuildFailed(f"Build timed out after {self.request.timeout:g}s, during {buildpack.name} bin/{script}")
        if outcome.start_error:
            raise BuildFailed(f"buildpack {buildpack.name}: {outcome.start_error}")
        return outcome

    async def detect(self, buildpack: Buildpack) -> str | None:
        if buildpack.builtin:
            # A Procfile that is a link is not one (read_procfile ignores it too): nothing outside BUILD_DIR is probed.
            return "Procfile" if has_procfile(self.request.build_dir) else None
        lines: list[str] = []

        async def keep(line: str) -> None:
            lines.append(line)

        outcome = await self._run(buildpack, "detect", [self.build_dir], keep)
        if outcome.exit_code != 0:
            return None
        return (lines[0].strip() if lines else "") or buildpack.name

    async def choose_buildpacks(self) -> list[tuple[Buildpack, str]]:
        if self.request.explicit:
            chosen = []
            for buildpack in self.request.buildpacks:
                language = await self.detect(buildpack)
                if language is None:
                    raise BuildFailed(f"App not compatible with buildpack: {buildpack.name}")
                chosen.append((buildpack, language))
            return chosen
        await self.on_line("-----> Determining which buildpack to use for this app")
        for buildpack in self.request.buildpacks:
            language = await self.detect(buildpack)
            if language is not None:
                return [(buildpack, language)]
        raise BuildFailed(NO_DETECT)

    async def compile(self, buildpack: Buildpack, language: str) -> None:
        if buildpack.builtin:
            return  # the source tree is the slug as it is
        args = [self.build_dir, self.cache_dir, self.env_dir]
        outcome = await self._run(buildpack, "compile", args, self.on_line)
        if outcome.exit_code != 0:
            raise BuildFailed(f"Push rejected, failed to compile {language} app (exit status {outcome.exit_code}).")

    async def release(self, buildpack: Buildpack) -> dict[str, str]:
        if buildpack.builtin or not (buildpack.path / "bin" / "release").exists():
            return {}
        lines: list[str] = []

        async def keep(line: str) -> None:
            lines.append(line)

        outcome = await self._run(buildpack, "release", [self.build_dir], keep)
        if outcome.exit_code != 0:
            raise BuildFailed(f"buildpack {buildpack.name}: bin/release exited with status {outcome.exit_code}")
        return parse_release_output("\n".join(lines))

    async def process_types(self, defaults: dict[str, str]) -> dict[str, str]:
        await self.on_line("-----> Discovering process types")
        try:
            declared = read_procfile(self.request.build_dir)
        except DomainError as error:
            raise BuildFailed(error.message) from None
        if declared:
            await self.on_line(f"{INDENT}Procfile declares types -> {', '.join(declared)}")
        if defaults:
            await self.on_line(f"{INDENT}Default types for buildpack -> {', '.join(defaults)}")
        types = {**defaults, **declared}
        if not types:
            raise BuildFailed("No process types: add a Procfile (like `web: ./bin/web`) to the app")
        return types
