"""Work a person (or the system) may cancel while a job runs it: a test node, a build.

The job runs the work as a task and looks at its row every half second; once the row says it was cancelled, the task
is cancelled, and with it the sandboxed commands it waits on (their process groups are killed: sandbox/process.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
CANCEL_POLL_SECONDS = 0.5


async def until_cancelled(
    work: Coroutine[Any, Any, T], cancelled: Callable[[], Awaitable[bool]], *, what: str
) -> T | None:
    """The work's result, or None once `cancelled()` said so (the work cancelled: its processes are killed)."""
    task = asyncio.create_task(work)
    watcher = asyncio.create_task(_watch(task, cancelled, what))
    try:
        await asyncio.wait({task})
    finally:
        watcher.cancel()
        if not task.done():  # this job itself is being stopped: stop the work with it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


async def _watch(task: asyncio.Task[Any], cancelled: Callable[[], Awaitable[bool]], what: str) -> None:
    while not task.done():
        await asyncio.sleep(CANCEL_POLL_SECONDS)
        try:
            stop = await cancelled()
        except Exception as error:  # the database away for a moment: look again next time
            logger.warning("could not check %s for cancellation: %s", what, error)
            continue
        if stop:
            task.cancel()
            return
