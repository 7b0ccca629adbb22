"""arq's worker, made to ride out a Redis outage: `pipegraph worker` and the in-process worker both run this one.

arq's poll loop lets the first connection error escape `Worker.main()`, so a Redis restart ended every worker for good
and promotions created afterwards stayed PENDING. Here a poll that cannot reach Redis is logged and tried again, backing
off up to a few seconds; redis-py reconnects by itself on the next command once Redis answers. Jobs in flight carry on
(their events are dropped while Redis is away, subscribers read the database meanwhile); a job whose end cannot be
recorded in Redis is left to its in-progress marker's expiry, and jobs are safe to run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.connections import create_pool, log_redis_info
from arq.utils import poll
from arq.worker import Worker as ArqWorker
from arq.worker import get_kwargs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from pipegraph.jobs.queue import wake_channel

logger = logging.getLogger(__name__)

# What an unreachable, restarting or still-loading Redis raises (BusyLoadingError is a ConnectionError).
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError, OSError)
# redis-py turns a connection lost while a pipeline watches a key into WatchError ("A ConnectionError occurred on while
# watching"). arq handles the WatchError of a key that changed inside start_jobs, so one reaching the poll loop is an
# outage: a Redis stop that fell between a job's WATCH and its EXEC once ended a worker process.
POLL_REDIS_AWAY = (*REDIS_AWAY, WatchError)
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0
# How long the wake-up listener may take to end once its worker stops (it only has a subscription to close).
LISTENER_STOP_SECONDS = 2.0
# Redis delivers a wake-up to every worker in the order they subscribed, so the first one won every race for a job and
# took bursts of jobs arriving one by one (7 of 8 builds in bench/build.py) while the other idled. A busy worker
# answers a little later, the later the busier (capped at arq's own poll delay), so the least busy one starts the
# job; an idle worker answers at once, so a lone job starts as soon as before.
WAKE_UP_DELAY_PER_RUNNING_JOB = 0.005


class Worker(ArqWorker):
    """An arq worker whose poll loop survives Redis going away and resumes when it returns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backoff = 0.0  # 0 while Redis answers
        # The poll loop and the wake-up listener both poll: one at a time, and the listener only once arq's main()
        # has opened its pool and run the start-up (its first poll says so).
        self._polling = asyncio.Lock()
        self._polled = asyncio.Event()

    async def main(self) -> None:
        # Besides arq's poll every `poll_delay`, a listener polls as soon as an enqueuer says there is work
        # (jobs/queue.py): a promotion's jobs start without waiting for the next poll. A burst worker just polls.
        if self.burst:
            await super().main()
            return
        listener = asyncio.create_task(self._follow_wake_ups(), name="wake-up listener")
        try:
            await self._serve()
        finally:
            await _stop(listener)

    async def _serve(self) -> None:
        """arq's main() for a worker that runs until stopped, its start-up riding out Redis going away too: a worker
        started as Redis stopped used to die in arq's first look at it (`log_redis_info`), before its poll loop."""
        backoff = 0.0
        while True:
            try:
                if self._pool is None:
                    self._pool = await create_pool(
                        self.redis_settings,
                        job_deserializer=self.job_deserializer,
                        job_serializer=self.job_serializer,
                        default_queue_name=self.queue_name,
                        expires_extra_ms=self.expires_extra_ms,
                    )
                logger.info("Starting worker for %d functions: %s", len(self.functions), ", ".join(self.functions))
                await log_redis_info(self.pool, logger.info)
                break
            except REDIS_AWAY as error:
                if not backoff:
                    logger.warning("Redis is unreachable, starting once it answers: %s", error)
                backoff = min(max(backoff * 2, FIRST_BACKOFF_SECONDS), MAX_BACKOFF_SECONDS)
                await asyncio.sleep(backoff)
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        async for _ in poll(self.poll_delay_s):
            await self._poll_iteration()

    async def _follow_wake_ups(self) -> None:
        """Poll on each wake-up, until cancelled. Redis away: subscribe again once it answers (the poll loop goes on
        meanwhile, and says so in the log)."""
        backoff = 0.0
        while True:
            try:
                await self._listen()
            except REDIS_AWAY as error:
                logger.debug("wake-ups unheard until Redis answers: %s", error)
                backoff = min(max(backoff * 2, FIRST_BACKOFF_SECONDS), MAX_BACKOFF_SECONDS)
                await asyncio.sleep(backoff)

    async def _listen(self) -> None:
        await self._polled.wait()
        pubsub = self.pool.pubsub()
        try:
            await pubsub.subscribe(wake_channel(self.pool))
            while True:
                if await pubsub.get_message(ignore_subscribe_messages=True, timeout=None) is None:
                    continue
                # Wake-ups that came meanwhile (several enqueuers, several API processes) are served by one poll.
                while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
                    pass
                if self.job_counter:
                    await asyncio.sleep(min(self.job_counter * WAKE_UP_DELAY_PER_RUNNING_JOB, self.poll_delay_s))
                await self._poll_iteration()
        finally:
            # Bounded: a connection Redis already dropped is not waited for.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), LISTENER_STOP_SECONDS)  # type: ignore[no-untyped-call]

    async def _poll_iteration(self) -> None:
        self._polled.set()
        async with self._polling:
            await self._poll_once()

    async def _poll_once(self) -> None:
        try:
            await super()._poll_iteration()
        except POLL_REDIS_AWAY as error:
            if not self.backoff:
                logger.warning("Redis is unreachable, polling again until it answers: %s", error)
            self.backoff = min(max(self.backoff * 2, FIRST_BACKOFF_SECONDS), MAX_BACKOFF_SECONDS)
            await asyncio.sleep(self.backoff)
            return
        if self.backoff:
            logger.warning("Redis answers again: polling resumed")
            self.backoff = 0.0

    async def run_job(self, job_id: str, score: int) -> None:
        # Starting or ending a job talks to Redis too; its task's error would otherwise surface in the poll loop.
        try:
            await super().run_job(job_id, score)
        except REDIS_AWAY as error:
            logger.warning("job %s could not be started or recorded as done while Redis was away: %s", job_id, error)

    async def close(self) -> None:
        # A stop signal cancels the running jobs; one cut off while it was still starting (talking to Redis) ends in
        # CancelledError, which arq's close() would re-raise, so the process would end with a traceback and status 1.
        # The job itself is not lost: its row is still due, and the reconciler enqueues it again.
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        try:
            await super().close()
        except REDIS_AWAY as error:
            # Stopped while Redis is away: arq's close() failed removing its health-check key (which expires by itself)
            # before closing our resources and its pool, so that is done here.
            logger.warning("the worker stops while Redis is away: %s", error)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            await self.pool.close(close_connection_pool=True)
            self._pool = None


async def _stop(listener: asyncio.Task[None]) -> None:
    """Cancel the listener and wait for it a bounded time; whatever it ended with is logged, never raised: the worker
    is stopping anyway, and `pipegraph dev` must end with status 0 on Ctrl-C."""
    listener.cancel()
    await asyncio.wait([listener], timeout=LISTENER_STOP_SECONDS)
    if not listener.done():
        logger.warning("the wake-up listener did not end within %.0f s: left behind", LISTENER_STOP_SECONDS)
    elif not listener.cancelled() and listener.exception() is not None:
        logger.warning("the wake-up listener had failed: %r", listener.exception())


def run(settings_cls: type) -> None:
    """Run the worker `settings_cls` describes, as `arq.worker.run_worker` does, until a signal stops it."""
    Worker(**get_kwargs(settings_cls)).run()
