"""Recovery (run by the reconciler cron in workers/): finds work whose job was lost and enqueues it again.

Lost means: a target still PENDING a while after it was written (its enqueue failed, or Redis lost the queue), a target
RUNNING past its lease (its worker died), or an app's next pending release that nothing has moved for a while (its
wake-up was lost with Redis, or its deploy's job crashed). Later pending releases are not lost: they wait for their
turn, and the end of the one before wakes them. Enqueueing is idempotent, so running the reconciler too often costs a
few statements and nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis
from tortoise.expressions import Subquery

from pipegraph.jobs.queue import Job, enqueue_all
from pipegraph.promotions.execution import complete_if_done, utcnow
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus
from pipegraph.promotions.service import batch_job, target_job
from pipegraph.releases.models import Release
from pipegraph.releases.service import due_releases, release_job

# A target this young may simply not have been picked up yet; re-enqueueing it would be harmless, but pointless.
PENDING_GRACE = timedelta(seconds=10)


async def lost_jobs(*, now: datetime | None = None) -> list[Job]:
    now = now or utcnow()
    jobs: list[Job] = []
    pending = await PromotionTarget.filter(status=TargetStatus.PENDING, created_at__lt=now - PENDING_GRACE)
    # Same job ids as the first enqueue: if a job is merely waiting in the queue, arq keeps one. Targets no job ever
    # attempted go back to their promotion's batch, which works them all at once (or, with a release phase, hands
    # each to its own job again); one a worker already tried is its own job's.
    untouched = {target.promotion_id for target in pending if target.attempts == 0}
    jobs.extend(batch_job(promotion_id) for promotion_id in sorted(untouched))
    jobs.extend(target_job(target.id) for target in pending if target.attempts > 0)
    for target in await PromotionTarget.filter(status=TargetStatus.RUNNING, lease_expires_at__lt=now):
        # Hand it back as PENDING (only if still stuck: another reconciler may have been first) under a new job id,
        # since the dead worker's job is still held "in progress" by arq until that marker expires.
        taken = await PromotionTarget.filter(
            id=target.id, status=TargetStatus.RUNNING, lease_expires_at__lt=now
        ).update(status=TargetStatus.PENDING, lease_expires_at=None, updated_at=now)
        if taken:
            jobs.append(target_job(target.id, retry=target.attempts))
    jobs.extend(await _due_releases_left_alone(now - PENDING_GRACE))
    return jobs


async def _due_releases_left_alone(untouched_since: datetime) -> list[Job]:
    """Each app's next pending release nothing moved lately. Its job keeps the release's own id, a no-op while arq
    still holds it (queued, or running the release phase: that touches the release). A promoted one is its target's,
    and woken only when parked; a target some worker holds is the lease rule's."""
    due: list[Release] = await due_releases(untouched_since=untouched_since)
    owners = {target.release_id: target for target in await PromotionTarget.filter(release_id__in=[r.id for r in due])}
    jobs: list[Job] = []
    for release in due:
        owner = owners.get(release.id)
        if owner is None:
            jobs.append(release_job(release))
        elif owner.status == TargetStatus.RUNNING and owner.lease_expires_at is None:
            jobs.append(target_job(owner.id))
    return jobs


async def complete_finished_promotions() -> int:
    """A worker that died between ending the last target and completing the promotion leaves it PENDING forever."""
    unfinished = Subquery(
        PromotionTarget.filter(status__in=[TargetStatus.PENDING, TargetStatus.RUNNING]).values("promotion_id")
    )
    stuck = await Promotion.filter(status=PromotionStatus.PENDING).exclude(id__in=unfinished)
    return sum([await complete_if_done(promotion.id) for promotion in stuck])


async def reconcile(redis: ArqRedis, *, now: datetime | None = None) -> int:
    """Enqueue every lost job and complete finished promotions; returns how many jobs were enqueued."""
    jobs = await lost_jobs(now=now)
    await enqueue_all(redis, jobs)
    await complete_finished_promotions()
    return len(jobs)
