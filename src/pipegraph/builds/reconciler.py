"""Builds whose worker died: retried once more from the start, then marked FAILED; never left BUILDING for ever.

A lost enqueue (Redis away when the build was created) leaves a build PENDING: it is enqueued again as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis
from redis.asyncio import Redis

from pipegraph.builds.log import BuildLog
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.builds.service import build_job
from pipegraph.jobs.queue import Job, enqueue_all

MAX_ATTEMPTS = 2
PENDING_GRACE = timedelta(seconds=10)


async def _give_up(redis: Redis, build: Build, now: datetime) -> None:
    message = f"the build's worker stopped during each of {build.attempts} attempts: giving up"
    gave_up = await Build.filter(id=build.id, status=BuildStatus.BUILDING, lease_expires_at__lt=now).update(
        status=BuildStatus.FAILED, error_message=message, lease_expires_at=None, updated_at=now
    )
    if gave_up:
        log = BuildLog(redis, build.id)
        await log.line(f" !     {message}")
        await Build.filter(id=build.id).update(output=build.output + "\n" + log.text if build.output else log.text)
        await log.end(BuildStatus.FAILED)


async def reconcile_builds(redis: ArqRedis, *, now: datetime) -> int:
    """Enqueue every lost build again (or fail it past its attempts); returns how many jobs were enqueued."""
    jobs: list[Job] = []
    for build in await Build.filter(status=BuildStatus.PENDING, created_at__lt=now - PENDING_GRACE):
        jobs.append(build_job(build.id, retry=build.attempts))
    for build in await Build.filter(status=BuildStatus.BUILDING, lease_expires_at__lt=now):
        if build.attempts >= MAX_ATTEMPTS:
            await _give_up(redis, build, now)
            continue
        # Conditional: of two reconcilers, one hands it back.
        taken = await Build.filter(id=build.id, status=BuildStatus.BUILDING, lease_expires_at__lt=now).update(
            status=BuildStatus.PENDING, lease_expires_at=None, updated_at=now
        )
        if taken:
            jobs.append(build_job(build.id, retry=build.attempts))
    await enqueue_all(redis, jobs)
    return len(jobs)
