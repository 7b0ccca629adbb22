"""Recovery (run by the reconciler cron in workers/): finds work whose job was lost and enqueues it again.

Lost means: a target still PENDING a while after it was written (its enqueue failed, or Redis lost the queue), a target
RUNNING past its lease (its worker died), or a deploy's release left PENDING likewise. Enqueueing is idempotent, so
running the reconciler too often costs a few statements and nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis
from tortoise.expressions import Subquery

from pipegraph.jobs.queue import Job, enqueue_all
from pipegraph.jobs.runtime import lease_seconds
from pipegraph.promotions.execution import complete_if_done, utcnow
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus
from pipegraph.promotions.service import target_job
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.service import RUN_RELEASE

# A target this young may simply not have been picked up yet; re-enqueueing it would be harmless, but pointless.
PENDING_GRACE = timedelta(seconds=10)


async def lost_jobs(*, release_phase_timeout: float, now: datetime | None = None) -> list[Job]:
    now = now or utcnow()
    jobs: list[Job] = []
    pending = await PromotionTarget.filter(status=TargetStatus.PENDING, created_at__lt=now - PENDING_GRACE)
    # Same job id as the first enqueue: if the job is merely waiting in the queue, arq keeps one.
    jobs.extend(target_job(target.id) for target in pending)
    for target in await PromotionTarget.filter(status=TargetStatus.RUNNING, lease_expires_at__lt=now):
        # Hand it back as PENDING (only if still stuck: another reconciler may have been first) under a new job id,
        # since the dead worker's job is still held "in progress" by arq until that marker expires.
        taken = await PromotionTarget.filter(
            id=target.id, status=TargetStatus.RUNNING, lease_expires_at__lt=now
        ).update(status=TargetStatus.PENDING, lease_expires_at=None, updated_at=now)
        if taken:
            jobs.append(target_job(target.id, retry=target.attempts))
    stale = now - timedelta(seconds=lease_seconds(release_phase_timeout))
    promoted = Subquery(PromotionTarget.filter(release_id__isnull=False).values("release_id"))
    deploys = await Release.filter(status=ReleaseStatus.PENDING, updated_at__lt=stale).exclude(id__in=promoted)
    bucket = int(now.timestamp() // lease_seconds(release_phase_timeout))
    jobs.extend(RUN_RELEASE.job(release.id, retry=bucket) for release in deploys)
    return jobs


async def complete_finished_promotions() -> int:
    """A worker that died between ending the last target and completing the promotion leaves it PENDING forever."""
    unfinished = Subquery(
        PromotionTarget.filter(status__in=[TargetStatus.PENDING, TargetStatus.RUNNING]).values("promotion_id")
    )
    stuck = await Promotion.filter(status=PromotionStatus.PENDING).exclude(id__in=unfinished)
    return sum([await complete_if_done(promotion.id) for promotion in stuck])


async def reconcile(redis: ArqRedis, *, release_phase_timeout: float, now: datetime | None = None) -> int:
    """Enqueue every lost job and complete finished promotions; returns how many jobs were enqueued."""
    jobs = await lost_jobs(release_phase_timeout=release_phase_timeout, now=now)
    await enqueue_all(redis, jobs)
    await complete_finished_promotions()
    return len(jobs)
