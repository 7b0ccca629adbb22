"""An arq worker inside the current process and event loop (for `pipegraph dev` and tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from arq.worker import Worker

from pipegraph.redis import redis_settings
from pipegraph.runtime import job_timeout_seconds
from pipegraph.settings import Settings
from pipegraph.worker import WorkerSettings, job_functions, scheduled_jobs

SHUTDOWN_GRACE_SECONDS = 10


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    assert settings.redis_url, "an in-process worker needs a Redis URL"
    timeout = settings.release_phase_timeout
    options: dict[str, Any] = {
        # Derived from these settings, not the environment WorkerSettings was imported under.
        "functions": job_functions(timeout),
        "cron_jobs": scheduled_jobs(),
        "on_startup": WorkerSettings.on_startup,
        "on_shutdown": WorkerSettings.on_shutdown,
        "redis_settings": redis_settings(settings.redis_url),
        # The API already opened the database in this process and owns the signal handlers.
        "ctx": {"settings": settings, "db_ready": True},
        "handle_signals": False,
    }
    for name in ("poll_delay", "max_jobs", "max_tries", "health_check_interval", "keep_result"):
        options[name] = getattr(WorkerSettings, name)
    options["job_timeout"] = job_timeout_seconds(timeout)
    options.update(overrides)
    return Worker(**options)


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    worker = build_worker(settings, **overrides)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        # Let jobs in flight end first: one cut off here would only be finished later by the reconciler.
        running = [job for job in worker.tasks.values() if not job.done()]
        if running:
            await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Collect whatever was still cut off, so close() does not re-raise its cancellation.
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        worker.tasks.clear()
        await worker.close()
