"""An arq worker inside the current process and event loop (for `pipegraph dev` and tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from pipegraph.jobs.runtime import build_job_timeout, test_job_timeout
from pipegraph.redis import redis_settings
from pipegraph.settings import Settings
from workers.process import REDIS_AWAY, Worker
from workers.settings import options

logger = logging.getLogger(__name__)

# Jobs in flight get this long to end by themselves when the worker stops,
SHUTDOWN_GRACE_SECONDS = 10.0
# then they are cancelled and waited for this long at most. Every step of the shutdown is bounded: a job that never
# ends must not hold the host's event loop (tests share one per session: a worker left polling there steals the jobs
# of the tests after it).
CANCEL_WAIT_SECONDS = 5.0


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
async def in_process_worker(
    settings: Settings,
    *,
    grace: float = SHUTDOWN_GRACE_SECONDS,
    cancel_wait: float = CANCEL_WAIT_SECONDS,
    **overrides: Any,
) -> AsyncIterator[Worker]:
    worker = build_worker(settings, **overrides)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        stopping = asyncio.create_task(stop(worker, task, grace=grace, cancel_wait=cancel_wait))
        try:
            await asyncio.shield(stopping)
        except asyncio.CancelledError:
            # Cancelled while stopping (Ctrl-C reaches `pipegraph dev` as a cancellation of its main task once uvicorn
            # has stopped): stopping goes on to its end, which is bounded, then so does the cancellation. A worker
            # half stopped would go on polling in this event loop.
            await asyncio.wait([stopping])
            if not stopping.cancelled() and stopping.exception() is not None:
                logger.error("the worker did not stop cleanly", exc_info=stopping.exception())
            raise


async def stop(worker: Worker, task: asyncio.Task[None], *, grace: float, cancel_wait: float) -> None:
    """Stop polling, let the jobs in flight end within `grace`, cancel the rest and wait `cancel_wait` at most for them,
    then close the worker's connections (bounded too)."""
    # Let jobs in flight end first: one cut off here would only be finished later by the reconciler.
    running = [job for job in worker.tasks.values() if not job.done()]
    if running:
        await asyncio.wait(running, timeout=grace)
    task.cancel()
    for job in worker.tasks.values():
        job.cancel()
    # The poll loop ends at its next await; a job cancelled mid-way ends when it stops ignoring the cancellation.
    await asyncio.wait([task, *worker.tasks.values()], timeout=cancel_wait)
    stuck = sorted(job_id for job_id, job in worker.tasks.items() if not job.done())
    if stuck:
        # Left behind, cancelled: their rows stay due, and the reconciler runs them again (jobs may run twice).
        logger.warning("the worker stopped with %d job(s) still ending: %s", len(stuck), ", ".join(stuck))
    with contextlib.suppress(asyncio.CancelledError):
        if task.done():
            task.result()  # an error that ended the poll loop is not swallowed
    # Collect the results of what ended, so close() does not re-raise a cancellation, and leave out what did not.
    await asyncio.gather(*(job for job in worker.tasks.values() if job.done()), return_exceptions=True)
    worker.tasks.clear()
    try:
        await asyncio.wait_for(worker.close(), timeout=cancel_wait)
    except TimeoutError:
        logger.warning("the worker's connections did not close within %.0f s: left behind", cancel_wait)
    except REDIS_AWAY as error:
        # Its health key stays until it expires; nothing else is lost.
        logger.warning("the worker could not say goodbye to Redis: %s", error)
