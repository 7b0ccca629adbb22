"""Enqueueing arq jobs from the API, only once the transaction that wrote their rows has committed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis, create_pool
from redis.exceptions import RedisError

from pipegraph.redis import redis_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    function: str
    args: tuple[Any, ...]
    job_id: str  # derived from the row it works on: enqueueing it twice runs it once


class JobQueue:
    """Holds one arq pool when the app's lifespan opened it; otherwise each enqueue uses a short-lived one."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._pool: ArqRedis | None = None

    async def open(self) -> None:
        if self.redis_url and self._pool is None:
            self._pool = await create_pool(redis_settings(self.redis_url, retries=2))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    async def enqueue(self, jobs: list[Job]) -> None:
        """After commit. A failure here loses nothing: the reconciler finds the rows left PENDING."""
        if not jobs or not self.redis_url:
            return
        try:
            if self._pool is not None:
                await enqueue_all(self._pool, jobs)
                return
            pool = await create_pool(redis_settings(self.redis_url, retries=2))
            try:
                await enqueue_all(pool, jobs)
            finally:
                await pool.aclose()
        except (RedisError, OSError) as error:
            # The rows are committed: the reconciler enqueues them once Redis is back.
            logger.warning("could not enqueue %d job(s), the reconciler will: %s", len(jobs), error)


async def enqueue_all(pool: ArqRedis, jobs: list[Job]) -> None:
    for job in jobs:
        await pool.enqueue_job(job.function, *job.args, _job_id=job.job_id)
