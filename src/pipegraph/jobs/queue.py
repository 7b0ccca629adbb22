"""Job kinds and the after-commit queue: the domains say which job to run, `workers/` binds what runs it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from arq.connections import ArqRedis, create_pool
from redis.exceptions import RedisError

from pipegraph.redis import redis_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKind:
    """One kind of job, named once. A domain declares it next to the service that enqueues it; `workers/` binds the
    function that runs it (`@job(KIND)`), and a test checks every declared kind is bound."""

    name: str  # the arq function name
    key: str  # the job id's prefix: one job per row at a time

    declared: ClassVar[dict[str, JobKind]] = {}

    def __post_init__(self) -> None:
        if self.declared.setdefault(self.name, self) is not self:
            raise ValueError(f"job kind {self.name!r} is declared twice")

    def job(self, row_id: int, *, retry: int | str | None = None) -> Job:
        """The job working on `row_id`. Its id is derived from the row, so enqueueing it twice runs it once; a
        `retry` gets a new id, for a takeover while arq still holds the first one as in progress."""
        job_id = f"{self.key}:{row_id}" if retry is None else f"{self.key}:{row_id}:retry-{retry}"
        return Job(self, row_id, job_id)


@dataclass(frozen=True)
class Job:
    kind: JobKind
    row_id: int
    job_id: str


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


def wake_channel(pool: ArqRedis) -> str:
    """Where enqueuers tell the workers there is work (workers/process.py). Redis pub/sub ignores the database
    number, so the channel names it: two installations sharing a Redis server do not wake each other."""
    return f"pipegraph:wake:{pool.connection_pool.connection_kwargs.get('db', 0)}"


async def enqueue_all(pool: ArqRedis, jobs: list[Job]) -> None:
    for job in jobs:
        await pool.enqueue_job(job.kind.name, job.row_id, _job_id=job.job_id)
    if jobs:
        # Workers would find the jobs at their next poll; told now, they start them now. Only a shortcut: a lost wake-up
        # costs one poll delay.
        try:
            await pool.publish(wake_channel(pool), b"")
        except RedisError as error:
            logger.debug("could not wake the workers, they will poll: %s", error)
