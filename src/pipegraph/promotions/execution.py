"""A promotion target worked to its end in a worker: copy the slug, adopt its stack, release, run the release phase.

Every step is persisted before it is announced on the promotion's stream. A job may run twice (arq retries, the
reconciler takes over a dead worker's target): the claim, and the slug and release ids kept on the target, make a
second run resume where the first stopped instead of copying or releasing again.

A target whose release is not yet due (an earlier release of its app is pending) is parked: RUNNING with no lease,
held by no worker, until the end of that earlier release wakes it (releases/execution.py `hand_over_turn`).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from pipegraph.db import when_reachable
from pipegraph.jobs.runtime import MAX_ATTEMPTS, Runtime, gave_up_message, lease_seconds
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus, TargetStep
from pipegraph.promotions.progress import announce_to_pipeline
from pipegraph.releases.execution import EarlierReleasePending, end_release, run_release
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.service import add_release_locked, is_due
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import SlugStore
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted, TargetChanges, TargetState


class PromotionFailure(Exception):
    """A target that cannot be promoted; its message is what the user reads."""


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _announce(runtime: Runtime, target: PromotionTarget) -> None:
    changes = TargetChanges(target.promotion_id, (TargetState.of(target),))
    await PROMOTION_EVENTS.publish(runtime.redis, target.promotion_id, changes)


async def _save_step(target: PromotionTarget, step: TargetStep, *extra_fields: str) -> None:
    target.step = step
    target.sequence += 1
    await target.save(update_fields=["step", "sequence", "updated_at", *extra_fields])


def parked() -> Q:
    """Targets whose release waits for its turn, held by no worker."""
    return Q(status=TargetStatus.RUNNING, lease_expires_at__isnull=True)


async def claim(target_id: int, *, lease: float) -> PromotionTarget | None:
    """Take a target that is waiting (or parked), or whose worker's lease ran out; None when another worker holds it
    or it is done. One conditional UPDATE, so two workers never both win."""
    now = utcnow()
    claimed = await PromotionTarget.filter(
        Q(status=TargetStatus.PENDING) | Q(status=TargetStatus.RUNNING, lease_expires_at__lt=now) | parked(),
        id=target_id,
    ).update(
        status=TargetStatus.RUNNING,
        lease_expires_at=now + timedelta(seconds=lease),
        attempts=F("attempts") + 1,
        sequence=F("sequence") + 1,
        updated_at=now,  # a queryset update does not touch auto_now fields
    )
    return await PromotionTarget.get(id=target_id) if claimed else None


async def verified_slug(source: Slug, store: SlugStore) -> None:
    """The source slug's blob is there and still has its checksum; else the target fails saying which."""
    actual = await store.verify(source.digest)
    if actual is None:
        raise PromotionFailure(f"slug blob {source.checksum} is missing from the slug store")
    if actual != source.digest:
        raise PromotionFailure(f"slug checksum does not match: expected {source.checksum}, blob is SHA256:{actual}")


def slug_copy(source: Slug, *, app_id: int) -> Slug:
    """The target's own record of the source's blob, not yet saved."""
    return Slug(
        app_id=app_id,
        checksum=source.checksum,
        size=source.size,
        stack=source.stack,
        process_types=dict(source.process_types),
        commit=source.commit,
        commit_description=source.commit_description,
        uploaded_at=source.uploaded_at,
    )


async def _copy_slug(target: PromotionTarget, source: Slug, store: SlugStore) -> Slug:
    await verified_slug(source, store)
    async with in_transaction():
        # Same blob, same checksum: the target gets its own record of it, nothing else changes hands.
        slug = slug_copy(source, app_id=target.app_id)
        await slug.save()
        target.slug_id = slug.id
        await _save_step(target, TargetStep.UPDATING_STACK, "slug_id")
    return slug


async def _release(target: PromotionTarget, slug: Slug, promotion: Promotion) -> None:
    source_app, source_release = promotion.source_app, promotion.source_release
    async with in_transaction():
        # Setting the stack, numbering the release and recording it on the target happen together, under the lock
        # on the target app that serializes every release into it.
        release = await add_release_locked(
            app_id=target.app_id,
            slug=slug,
            description=f"Promote {source_app.name} v{source_release.version}",
            user_id=promotion.created_by_id,
            source_release_id=source_release.id,
            adopt_slug_stack=True,
        )
        target.release_id = release.id
        await _save_step(target, TargetStep.RELEASE_PHASE, "release_id")


async def process_target(target_id: int, runtime: Runtime) -> PromotionTarget | None:
    target = await claim(target_id, lease=lease_seconds(runtime.settings.release_phase_timeout))
    if target is None:
        return None
    await _announce(runtime, target)
    if target.attempts > MAX_ATTEMPTS:
        return await _give_up(target, runtime)
    # The promotion, its source app and release and that release's slug: one statement, not four, per target.
    promotion = (
        await Promotion.filter(id=target.promotion_id).select_related("source_app", "source_release__slug").get()
    )
    error: str | None = None
    try:
        if target.release_id is None:
            if target.slug_id is None:
                await _save_step(target, TargetStep.COPYING_SLUG)
                await _announce(runtime, target)
                slug = await _copy_slug(target, promotion.source_release.slug, runtime.slug_store)
                await _announce(runtime, target)
            else:
                slug = await Slug.get(id=target.slug_id)
            await _release(target, slug, promotion)
            await _announce(runtime, target)
        release = await run_release(target.release_id, runtime) if target.release_id else None
        if release is None or release.status != ReleaseStatus.SUCCEEDED:
            error = (release.error_message if release else None) or "release failed"
    except PromotionFailure as failure:
        error = str(failure)
    except EarlierReleasePending:
        return await _park(target, runtime)
    except Exception:
        # Unexpected (the database went away, say): let the next try claim the target at once instead of waiting out
        # the lease.
        await _let_go(target.id)
        raise
    return await finish_target(target, error=error, runtime=runtime)


async def _let_go(target_id: int) -> None:
    """End this worker's lease on the target, waiting out a short database outage (the job's retry can only claim the
    target once this is written); past that, the reconciler takes over once the lease ends."""
    with contextlib.suppress(Exception):
        await when_reachable(lambda: PromotionTarget.filter(id=target_id).update(lease_expires_at=utcnow()))


async def _park(target: PromotionTarget, runtime: Runtime) -> PromotionTarget | None:
    """Its release waits for an earlier one of the app: let go of the target (waiting is not an attempt) rather than
    hold a job slot, and let the end of that release wake it."""
    await PromotionTarget.filter(id=target.id, status=TargetStatus.RUNNING).update(
        lease_expires_at=None, attempts=F("attempts") - 1
    )
    # The earlier release may have ended while this target was still held, its wake-up then finding it taken: look
    # again now that it is let go, so one of the two always runs it.
    release = await Release.get(id=target.release_id)
    if release.status == ReleaseStatus.PENDING and await is_due(release):
        return await process_target(target.id, runtime)
    return None


async def target_of_release(release_id: int) -> int | None:
    """The target a promoted release belongs to (its job runs it), or None for a deploy or a rollback."""
    target = await PromotionTarget.get_or_none(release_id=release_id).only("id")
    return target.id if target else None


async def _give_up(target: PromotionTarget, runtime: Runtime) -> PromotionTarget:
    """A target whose every attempt crashed or lost its worker: failed, so its promotion completes. Its release, if
    one was made and is still pending, fails too: later releases of the app wait for it."""
    error = gave_up_message(MAX_ATTEMPTS)
    if target.release_id is not None:
        release = await end_release(target.release_id, error_message=error, log="", redis=runtime.redis)
        if release.status == ReleaseStatus.SUCCEEDED:
            return await finish_target(target, error=None, runtime=runtime)  # it crashed after the release was done
        error = release.error_message or error
    return await finish_target(target, error=error, runtime=runtime)


async def finish_target(target: PromotionTarget, *, error: str | None, runtime: Runtime) -> PromotionTarget:
    target.status = TargetStatus.FAILED if error else TargetStatus.SUCCEEDED
    target.error_message = error  # type: ignore[assignment]  # a nullable column; tortoise types it `str`
    target.lease_expires_at = None
    await _save_step(target, TargetStep.DONE, "status", "error_message", "lease_expires_at")
    await _announce(runtime, target)
    if await complete_if_done(target.promotion_id):
        await PROMOTION_EVENTS.publish(runtime.redis, target.promotion_id, PromotionCompleted())
        await announce_to_pipeline(runtime.redis, await Promotion.get(id=target.promotion_id))
    return target


async def complete_if_done(promotion_id: int) -> bool:
    """Called after a target's terminal state committed, so whichever target ends last sees every other one ended."""
    # Without the lock first: a target that is not the last one (49 of 50) ends here, instead of queueing for the
    # promotion's row behind the others. Each target asks only after its own end committed, so of two last ones ending
    # at once, the later asker sees both ended; the check under the lock below settles which one completes it.
    if await _unfinished(promotion_id):
        return False
    async with in_transaction():
        promotion = await Promotion.select_for_update().get(id=promotion_id)
        if promotion.status == PromotionStatus.COMPLETED:
            return True
        if await _unfinished(promotion_id):
            return False
        promotion.status = PromotionStatus.COMPLETED
        promotion.completed_at = utcnow()
        await promotion.save(update_fields=["status", "completed_at"])
        return True


async def _unfinished(promotion_id: int) -> bool:
    return await PromotionTarget.exists(
        promotion_id=promotion_id, status__in=[TargetStatus.PENDING, TargetStatus.RUNNING]
    )
