"""The test runner: a build with the app's buildpacks, then scripts.test-setup, then scripts.test, in one workspace.

Behind a small interface like the build and release-phase runners, so a cluster runner can replace the local one. The
local one builds through the `BuildRunner` and runs the scripts through the `CommandRunner`, so every command of a
test run goes through the sandbox. It tells its caller when the run moves on (BUILDING, RUNNING) and answers how it
ended: Heroku's distinction is kept, a build or test-setup failure is ERRORED, a non-zero `test` is FAILED.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipegraph.builds.commands import CommandRunner, OnLine
from pipegraph.builds.runner import DEFAULT_PATH, Buildpack, BuildRequest, BuildRunner
from pipegraph.ci.models import TestRunStatus

OnPhase = Callable[[TestRunStatus], Awaitable[None]]
# Heroku sources what the buildpacks left in .profile.d before a dyno's command: so do the test scripts.
WITH_PROFILE = 'for f in .profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; '


@dataclass(frozen=True)
class TestRequest:
    __test__ = False

    workspace: Path  # holds build/ (the commit's tree) and cache/, as a BuildRequest's
    buildpacks: tuple[Buildpack, ...]
    explicit: bool
    env: Mapping[str, str]  # app.json env, the pipeline's TEST config vars, CI=true and the commit's facts
    stack: str
    commit: str
    setup: str | None
    test: str | None
    timeout: float  # the whole run: build, setup and test


@dataclass
class TestResult:
    __test__ = False

    status: TestRunStatus
    exit_code: int | None = None
    message: str | None = None
    buildpacks_used: list[str] = field(default_factory=list)


class TestRunner(Protocol):
    async def run(self, request: TestRequest, on_line: OnLine, on_phase: OnPhase) -> TestResult: ...


class LocalTestRunner:
    def __init__(self, builds: BuildRunner, commands: CommandRunner) -> None:
        self.builds, self.commands = builds, commands

    async def run(self, request: TestRequest, on_line: OnLine, on_phase: OnPhase) -> TestResult:
        deadline = time.monotonic() + request.timeout
        await on_phase(TestRunStatus.BUILDING)
        built = await self.builds.run(
            BuildRequest(
                workspace=request.workspace,
                buildpacks=request.buildpacks,
                explicit=request.explicit,
                config_vars=request.env,
                stack=request.stack,
                source_version=request.commit,
                timeout=request.timeout,
            ),
            on_line,
        )
        if built.error_message is not None:
            return TestResult(TestRunStatus.ERRORED, message=f"the build failed: {built.error_message}")
        used = built.buildpacks_used
        if request.setup:
            await on_line("-----> Running test-setup command `" + request.setup + "`...")
            code, problem = await self._script(request, request.setup, deadline, on_line, "test-setup")
            if problem or code != 0:
                message = problem or f"test-setup exited with status {code}"
                return TestResult(TestRunStatus.ERRORED, exit_code=code, message=message, buildpacks_used=used)
        if not request.test:
            message = 'app.json has no test script: set environments.test.scripts.test (e.g. "./bin/test")'
            await on_line(f" !     {message}")
            return TestResult(TestRunStatus.ERRORED, message=message, buildpacks_used=used)
        await on_phase(TestRunStatus.RUNNING)
        await on_line("-----> Running test command `" + request.test + "`...")
        code, problem = await self._script(request, request.test, deadline, on_line, "test")
        if problem:
            return TestResult(TestRunStatus.ERRORED, exit_code=code, message=problem, buildpacks_used=used)
        if code != 0:
            await on_line(f"-----> test command `{request.test}` failed with exit status {code}")
            return TestResult(
                TestRunStatus.FAILED, exit_code=code, message=f"test exited with status {code}", buildpacks_used=used
            )
        await on_line(f"-----> test command `{request.test}` completed successfully")
        return TestResult(TestRunStatus.SUCCEEDED, exit_code=0, buildpacks_used=used)

    async def _script(
        self, request: TestRequest, script: str, deadline: float, on_line: OnLine, what: str
    ) -> tuple[int | None, str | None]:
        """The script's exit code, or why it did not end by itself (its time, a limit, a start failure)."""
        inside = self.commands.workspace_path(request.workspace)
        build_dir = f"{inside}/build"
        env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "STACK": request.stack, **request.env, "HOME": build_dir}
        outcome = await self.commands.run(
            ["/bin/sh", "-c", WITH_PROFILE + script],
            workspace=request.workspace,
            build_dir=build_dir,
            buildpacks=[],
            env=env,
            time_limit=deadline - time.monotonic(),
            on_line=on_line,
        )
        if outcome.timed_out:
            message = f"the test run timed out after {request.timeout:g}s, during {what}"
            await on_line(f" !     {message}")
            return None, message
        if outcome.start_error:
            await on_line(f" !     {what}: {outcome.start_error}")
            return None, f"{what}: {outcome.start_error}"
        return outcome.exit_code, None
