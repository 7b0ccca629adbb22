"""An arq worker inside the current process and event loop (for `pipegraph dev` and tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pipegraph.jobs.runtime import build_job_timeout, test_job_timeout
from pipegraph.redis import redis_settings
from pipegraph.settings import Settings
from workers.process import Worker
from workers.settings import options

SHUTDOWN_GRACE_SECONDS = 10


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    assert settings.redis_url, "an in-process worker needs a Redis URL"
    return Worker(
        **{
            # Derived from these settings, not the environment WorkerSettings was imported under.
            **options(settings.release_phase_timeout, build_job_timeout(settings), test_job_timeout(settings)),
            "redis_settings": redis_settings(settings.redis_url),
            # The API already opened the database in this process and owns the signal handlers.
            "ctx": {"settings": settings, "db_ready": True},
            "handle_signals": False,
            **overrides,
        }
    )


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
