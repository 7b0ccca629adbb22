"""arq worker settings and lifecycle. Jobs stay thin: they turn IDs into service calls."""

from __future__ import annotations

import os
import time
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from pipegraph.db import close_db, init_db, with_pool_size
from pipegraph.promotions.jobs import promote_target, reconcile_lost_jobs, run_release_job
from pipegraph.redis import redis_settings
from pipegraph.releases.phase import LocalProcessRunner
from pipegraph.runtime import Runtime, job_timeout_seconds
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore

INCOMING_MAX_AGE = 24 * 3600


async def startup(ctx: dict[str, Any]) -> None:
    settings = ctx.setdefault("settings", Settings.from_env())
    # An in-process worker (`pipegraph dev`, tests) shares the API's database connection.
    if not ctx.get("db_ready"):
        await init_db(with_pool_size(settings.database_url, WorkerSettings.max_jobs + 2))
        ctx["owns_db"] = True
    ctx["runtime"] = Runtime(
        settings=settings,
        slug_store=LocalSlugStore(settings.slug_dir),
        runner=LocalProcessRunner(),
        redis=ctx["redis"],  # arq's own pool: events need no second connection
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("owns_db"):
        await close_db()


async def sweep_incoming_uploads(ctx: dict[str, Any]) -> int:
    """Remove partial uploads left by a crashed API process (complete ones were renamed into place)."""
    settings: Settings = ctx["settings"]
    removed = 0
    incoming = settings.slug_dir / "incoming"
    if incoming.exists():
        cutoff = time.time() - INCOMING_MAX_AGE
        for part in incoming.glob("*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
    return removed


def _redis() -> RedisSettings:
    # `pipegraph worker` (distributed) needs a shared Redis; the embedded one only lives inside `pipegraph dev`.
    url = os.environ.get("REDIS_URL")
    return redis_settings(url) if url else RedisSettings()


def _release_phase_timeout() -> float:
    # Read directly: Settings.from_env() may write a secret into the data folder, not something an import should do.
    return float(os.environ.get("PIPEGRAPH_RELEASE_PHASE_TIMEOUT", "30"))


def job_functions(release_phase_timeout: float) -> list[Any]:
    # A job may only be cut off after the release phase's own timeout could fire: that one kills the process group
    # and records a clear error, an arq timeout would leave the target RUNNING until the reconciler.
    timeout = job_timeout_seconds(release_phase_timeout)
    return [
        # keep_result=0: a finished job frees its id at once, so the reconciler can enqueue a lost target again.
        # max_tries: a Retry (waiting for an earlier release of the app) or a crash is tried again this often; past
        # that the reconciler, not arq, is the safety net.
        func(promote_target, timeout=timeout, keep_result=0, max_tries=5),
        func(run_release_job, name="run_release", timeout=timeout, keep_result=0, max_tries=5),
    ]


def scheduled_jobs() -> list[Any]:
    return [
        cron(sweep_incoming_uploads, minute=17, run_at_startup=False),
        # Every 15 s: a lost target waits at most that long past its lease; unique=True keeps one run at a time.
        cron(reconcile_lost_jobs, second={0, 15, 30, 45}, run_at_startup=True, timeout=60),
    ]


class WorkerSettings:
    functions = job_functions(_release_phase_timeout())
    cron_jobs = scheduled_jobs()
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis()
    # 50 ms between polls of the queue: a promotion's jobs start within a blink, at ~20 cheap Redis calls a second.
    poll_delay = 0.05
    # Each target mostly waits on a subprocess or the database: many fit one worker process.
    max_jobs = 50
    job_timeout = job_timeout_seconds(_release_phase_timeout())
    max_tries = 5
    # arq writes the worker's health (jobs done, queued) to Redis this often: `arq --check` reads it for probes.
    health_check_interval = 30
    keep_result = 0
