"""An arq worker inside the current process and event loop (for `pipegraph dev` and tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from arq.worker import Worker

from pipegraph.redis import redis_settings
from pipegraph.settings import Settings
from pipegraph.worker import WorkerSettings


def build_worker(settings: Settings, **overrides: Any) -> Worker:
    assert settings.redis_url, "an in-process worker needs a Redis URL"
    options: dict[str, Any] = {
        "functions": WorkerSettings.functions,
        "cron_jobs": WorkerSettings.cron_jobs,
        "on_startup": WorkerSettings.on_startup,
        "on_shutdown": WorkerSettings.on_shutdown,
        "redis_settings": redis_settings(settings.redis_url),
        # The API already opened the database in this process and owns the signal handlers.
        "ctx": {"settings": settings, "db_ready": True},
        "handle_signals": False,
    }
    for name in ("poll_delay", "job_timeout", "max_tries", "health_check_interval", "keep_result"):
        if hasattr(WorkerSettings, name):
            options[name] = getattr(WorkerSettings, name)
    options.update(overrides)
    return Worker(**options)


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    worker = build_worker(settings, **overrides)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()
