"""`WorkerSettings`: what `arq workers.WorkerSettings` and `pipegraph worker` run, and its start and stop."""

from __future__ import annotations

import os
from typing import Any

from arq.connections import RedisSettings

from pipegraph.builds.commands import SandboxCommands
from pipegraph.builds.execution import BUILD_WORKSPACES
from pipegraph.builds.runner import LocalBuildRunner
from pipegraph.builds.service import RUN_BUILD
from pipegraph.ci.execution import TEST_WORKSPACES
from pipegraph.ci.runner import LocalTestRunner
from pipegraph.ci.service import RUN_TEST_NODE
from pipegraph.db import close_db, init_db
from pipegraph.jobs.runtime import Runtime, build_job_timeout, job_timeout_seconds, test_job_timeout
from pipegraph.redis import redis_settings
from pipegraph.releases.phase import LocalProcessRunner
from pipegraph.sandbox.host import WARNING
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore
from workers import cron, jobs  # noqa: F401 - importing them binds the job functions and schedules the cron jobs
from workers.observed import TimedBuildRunner, TimedRunner
from workers.registry import arq_cron_jobs, arq_functions

# 50 ms between polls of the queue: a promotion's jobs start within a blink, at ~20 cheap Redis calls a second.
POLL_DELAY = 0.05
# Each target mostly waits on a subprocess or the database: many fit one worker process.
MAX_JOBS = 50


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.setdefault("settings", Settings.from_env())
    # An in-process worker (`pipegraph dev`, tests) shares the API's database connection.
    if not ctx.get("db_ready"):
        await init_db(settings.database_url, pool_size=settings.db_pool_size)
        ctx["owns_db"] = True
    release_runner = LocalProcessRunner.from_settings(settings)
    sandbox = release_runner.sandbox  # one sandbox for every command from an app: release phases, builds, tests
    commands = SandboxCommands(sandbox, settings.sandbox.limits)
    build_runner = LocalBuildRunner(commands, warning=None if sandbox.isolated else WARNING)
    ctx["runtime"] = Runtime(
        settings=settings,
        slug_store=LocalSlugStore(settings.slug_dir),  # one per process: its blob hash cache serves every job
        runner=TimedRunner(release_runner, ctx["redis"]),
        redis=ctx["redis"],  # arq's own pool: events need no second connection
        # Test runs build through the plain runner: build durations in /metrics stay those of deploys.
        build_runner=TimedBuildRunner(build_runner, ctx["redis"]),
        test_runner=LocalTestRunner(build_runner, commands),
    )
    BUILD_WORKSPACES.sweep()  # build and test folders a killed worker left behind
    TEST_WORKSPACES.sweep()


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("owns_db"):
        await close_db()


def options(
    release_phase_timeout: float, build_timeout: float | None = None, test_timeout: float | None = None
) -> dict[str, Any]:
    """arq's worker options for a release phase timeout (and a build job's, `build_job_timeout`): the one place both
    the process and the in-process worker take them from."""
    # A job may only be cut off after the release phase's own timeout could fire: that one kills the process group
    # and records a clear error, an arq timeout would leave the target RUNNING until the reconciler.
    timeout = job_timeout_seconds(release_phase_timeout)
    return {
        "functions": arq_functions(
            timeout,
            {
                RUN_BUILD.name: build_timeout or _build_job_timeout(),
                RUN_TEST_NODE.name: test_timeout or _test_job_timeout(),
            },
        ),
        "cron_jobs": arq_cron_jobs(),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "poll_delay": POLL_DELAY,
        "max_jobs": MAX_JOBS,
        "job_timeout": timeout,
        "max_tries": 5,
        # arq writes the worker's health (jobs done, queued) to Redis this often: `arq --check` reads it for probes.
        "health_check_interval": 30,
        "keep_result": 0,
    }


def _redis() -> RedisSettings:
    # `pipegraph worker` (distributed) needs a shared Redis; the embedded one only lives inside `pipegraph dev`.
    url = os.environ.get("REDIS_URL")
    return redis_settings(url) if url else RedisSettings()


def _release_phase_timeout() -> float:
    # Read directly: Settings.from_env() may write a secret into the data folder, not something an import should do.
    return float(os.environ.get("PIPEGRAPH_RELEASE_PHASE_TIMEOUT", "30"))


def _build_job_timeout() -> float:
    # The same way: only the build settings, read from the environment.
    return build_job_timeout(Settings.from_env({**os.environ, "PIPEGRAPH_SECRET_KEY": "not-needed-here"}))


def _test_job_timeout() -> float:
    return test_job_timeout(Settings.from_env({**os.environ, "PIPEGRAPH_SECRET_KEY": "not-needed-here"}))


_OPTIONS = options(_release_phase_timeout())


class WorkerSettings:
    functions = _OPTIONS["functions"]
    cron_jobs = _OPTIONS["cron_jobs"]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis()
    poll_delay = _OPTIONS["poll_delay"]
    max_jobs = _OPTIONS["max_jobs"]
    job_timeout = _OPTIONS["job_timeout"]
    max_tries = _OPTIONS["max_tries"]
    health_check_interval = _OPTIONS["health_check_interval"]
    keep_result = _OPTIONS["keep_result"]
