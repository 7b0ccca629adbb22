"""Every target of a promotion without a release phase, worked by one job in a constant number of statements.

Without a release phase a target is only bookkeeping: a slug record, a release, its own row. One job per target made
that a dozen statements and six stream writes per target, so a promotion to 50 apps took 13 times one to a single app.
Here one transaction does every target at once (one INSERT of slugs, one of releases, one UPDATE per outcome), and the
targets' events, made ready before the commit, go out right after it in one write (the promotion's end, when it came,
in a second one).

Subscribers see what the per-target job (execution.py) shows them: each target's steps in order, with the same
sequence numbers (claimed, copying the slug, updating the stack, release phase, done), then the promotion's end. The
steps between claimed and done are never committed on their own: a subscriber reading the database meanwhile sees the
target queued, then done, as a late subscriber does.

Crash-safe and safe to run twice: the transaction commits everything or nothing, and it takes only targets no job has
touched (PENDING, never attempted); any other target is its own job's. A target whose app has an earlier release
pending gets a pending release and is parked, as the per-target job parks it; that earlier release's end wakes it
(releases/execution.py `hand_over_turn`) under the same lock on the app row every release takes. Anything unexpected
rolls the batch back and hands each target to its own job, so one bad target cannot fail the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from pipegraph.core.bulk import in_list, insert_copies, is_postgres, literal_ids, marks
from pipegraph.db import database_unavailable
from pipegraph.jobs.queue import Job
from pipegraph.jobs.runtime import Runtime
from pipegraph.promotions.execution import PromotionFailure, complete_if_done, slug_copy, utcnow, verified_slug
from pipegraph.promotions.models import Promotion, PromotionTarget, TargetStatus, TargetStep
from pipegraph.promotions.service import target_job
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.service import needs_release_phase
from pipegraph.slugs.models import Slug
from pipegraph.streams.pipeline import PIPELINE_EVENTS, PromotionChanged
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted, TargetChanges, TargetState
from pipegraph.streams.publish import StreamEntry, publish_all

logger = logging.getLogger(__name__)

# The steps a target's events walk through, as the per-target job saves them: each is one more `sequence`.
WORKED = (TargetStep.QUEUED, TargetStep.COPYING_SLUG, TargetStep.UPDATING_STACK, TargetStep.RELEASE_PHASE)
# A slug that cannot be copied fails the target while it copies (execution.py `_copy_slug`).
NOT_COPIED = (TargetStep.QUEUED, TargetStep.COPYING_SLUG)


@dataclass
class _Target:
    id: int
    app_id: int
    slug_id: int | None = None
    release_id: int | None = None


@dataclass(frozen=True)
class _Outcome:
    """Where a group of targets ends, after walking through `steps`."""

    steps: tuple[TargetStep, ...]
    status: TargetStatus
    step: TargetStep
    attempts: int  # a parked target's wait is not an attempt (execution.py `_park`)
    error: str | None = None

    @property
    def sequence(self) -> int:
        # One per step walked through, plus the last one unless parked (parking announces nothing new).
        return len(self.steps) + (self.step != self.steps[-1])


DONE = _Outcome(WORKED, TargetStatus.SUCCEEDED, TargetStep.DONE, attempts=1)
PARKED = _Outcome(WORKED, TargetStatus.RUNNING, TargetStep.RELEASE_PHASE, attempts=0)


def failed(error: str) -> _Outcome:
    return _Outcome(NOT_COPIED, TargetStatus.FAILED, TargetStep.DONE, attempts=1, error=error)


async def promote_batch(promotion_id: int, runtime: Runtime) -> tuple[str, list[Job]]:
    """Work the promotion's untouched targets; returns what happened, and the jobs to enqueue when the targets are
    handed to a job each instead."""
    promotion = (
        await Promotion.filter(id=promotion_id).select_related("source_app", "source_release__slug").get_or_none()
    )
    if promotion is None:
        return "gone", []
    slug = promotion.source_release.slug
    if needs_release_phase(slug):  # not made by promote(); a job each runs their release phases side by side
        return "has a release phase: a job per target", await _one_job_each(promotion_id)
    try:
        failure: str | None = None
        try:
            await verified_slug(slug, runtime.slug_store)
        except PromotionFailure as error:
            failure = str(error)
        worked, entries = await _work(promotion, slug, failure)
    except Exception as error:
        if database_unavailable(error):
            raise  # the job tries again once the database is back: nothing was committed
        logger.exception("promotion %d: the batch failed, each target gets its own job", promotion_id)
        return "handed to a job per target", await _one_job_each(promotion_id)
    if not worked:
        return "no untouched target", []
    # Every target's events in one write, at once: they need not wait for the completion check below.
    await publish_all(runtime.redis, entries)
    if await complete_if_done(promotion_id):
        ends = [
            PROMOTION_EVENTS.entry(promotion_id, PromotionCompleted()),
            PIPELINE_EVENTS.entry(promotion.pipeline_id, PromotionChanged(promotion_id)),
        ]
        await publish_all(runtime.redis, ends)
    return f"{worked} target(s) worked", []


async def _one_job_each(promotion_id: int) -> list[Job]:
    pending = PromotionTarget.filter(promotion_id=promotion_id, status=TargetStatus.PENDING)
    return [target_job(int(target_id)) for target_id in await pending.values_list("id", flat=True)]  # type: ignore[call-overload]


async def _work(promotion: Promotion, slug: Slug, failure: str | None) -> tuple[int, list[StreamEntry]]:
    """The transaction; returns how many targets it worked, and every event to announce once it committed (written
    out before the commit, so that after it only the stream write remains)."""
    async with in_transaction() as connection:
        targets = await _claim(connection, promotion.id)
        if not targets:
            return 0, []
        if failure is not None:
            now = utcnow()
            outcome = failed(failure)
            await _finish(connection, targets, outcome, now)
            return len(targets), _entries(promotion.id, _events(promotion.id, targets, outcome, now))
        app_ids = [target.app_id for target in targets]
        await _lock_apps(connection, app_ids)
        now = utcnow()
        versions, pending_apps = await _count_releases(connection, app_ids, slug, now)
        # A release is current at once unless an earlier one of its app is pending (releases/service.py
        # `add_release_locked`): that one first, then this one, woken by the end of the earlier one.
        immediate = [target.app_id for target in targets if target.app_id not in pending_apps]
        await _no_longer_current(connection, immediate)
        # Each target app's own record of the source's slug: the copy's app is each target's.
        copies = [{"app_id": target.app_id} for target in targets]
        slug_ids = await insert_copies(connection, slug_copy(slug, app_id=slug.app_id), copies, key="app_id")
        description = f"Promote {promotion.source_app.name} v{promotion.source_release.version}"
        release_ids = await insert_copies(
            connection,
            Release(
                description=description,
                created_by_id=promotion.created_by_id,
                source_release_id=promotion.source_release_id,
            ),
            [
                {
                    "app_id": target.app_id,
                    "version": versions[target.app_id],
                    "status": ReleaseStatus.PENDING if target.app_id in pending_apps else ReleaseStatus.SUCCEEDED,
                    "is_current": target.app_id not in pending_apps,
                    "slug_id": slug_ids[target.app_id],
                }
                for target in targets
            ],
            key="app_id",
        )
        for target in targets:
            target.slug_id, target.release_id = slug_ids[target.app_id], release_ids[target.app_id]
        now = utcnow()  # the targets' own time, as close to the commit (and their events' publication) as can be
        done = [target for target in targets if target.app_id not in pending_apps]
        parked = [target for target in targets if target.app_id in pending_apps]
        await _finish(connection, done, DONE, now)
        await _finish(connection, parked, PARKED, now)
        entries = _entries(
            promotion.id, _events(promotion.id, done, DONE, now) + _events(promotion.id, parked, PARKED, now)
        )
    return len(targets), entries


async def _claim(connection: BaseDBAsyncClient, promotion_id: int) -> list[_Target]:
    """The promotion's targets no job has touched, locked until the transaction ends: a per-target job claiming one
    meanwhile waits, then finds it taken. PostgreSQL locks the rows, so that `_finish` writes each row once; SQLite
    has no row locks, and a write first takes its write lock before anything is read."""
    if is_postgres(connection):
        rows = await connection.execute_query_dict(
            'SELECT "id", "app_id" FROM "promotion_targets" '
            'WHERE "promotion_id" = $1 AND "status" = $2 AND "attempts" = 0 ORDER BY "id" FOR UPDATE',
            [promotion_id, TargetStatus.PENDING.value],
        )
    else:
        rows = await connection.execute_query_dict(
            'UPDATE "promotion_targets" SET "status" = ? '
            'WHERE "promotion_id" = ? AND "status" = ? AND "attempts" = 0 RETURNING "id", "app_id"',
            [TargetStatus.RUNNING.value, promotion_id, TargetStatus.PENDING.value],
        )
    return sorted((_Target(int(row["id"]), int(row["app_id"])) for row in rows), key=lambda target: target.id)


async def _lock_apps(connection: BaseDBAsyncClient, app_ids: Sequence[int]) -> None:
    """Lock the target apps, as every release into an app does, in id order so that two batches never deadlock.
    SQLite's claim already holds its one write lock."""
    if is_postgres(connection):
        mark = marks(connection)
        await connection.execute_query(
            f'SELECT "id" FROM "apps" WHERE "id" IN {in_list(mark, len(app_ids))} ORDER BY "id" FOR UPDATE',
            list(app_ids),
        )


async def _count_releases(
    connection: BaseDBAsyncClient, app_ids: Sequence[int], slug: Slug, now: datetime
) -> tuple[dict[int, int], set[int]]:
    """Number each app's new release, and make it run on the slug's stack; returns each app's new version, and the
    apps with an earlier release pending.

    Asked once the apps are locked, as `add_release_locked` does (releases/service.py): a statement that waited for a
    lock on PostgreSQL still reads from before its wait, and would miss a release made pending meanwhile."""
    mark = marks(connection)
    # The status is written out, not bound: PostgreSQL plans a statement it runs again and again for any value, and
    # such a plan cannot use the index of pending releases (migration 0017). It then read each app's whole history:
    # 50 targets of 1,000 releases each took 2.65 times one.
    pending = f"'{ReleaseStatus.PENDING.value}'"
    rows = await connection.execute_query_dict(
        f'UPDATE "apps" SET "release_count" = "release_count" + 1, "stack" = {next(mark)}, "updated_at" = '
        f'{next(mark)} WHERE "id" IN {in_list(mark, len(app_ids))} RETURNING "id", "release_count", EXISTS ('
        f'SELECT 1 FROM "releases" r WHERE r."app_id" = "apps"."id" AND r."status" = {pending}) AS "pending"',
        [slug.stack, now, *app_ids],
    )
    versions = {int(row["id"]): int(row["release_count"]) for row in rows}
    return versions, {int(row["id"]) for row in rows if row["pending"]}


async def _no_longer_current(connection: BaseDBAsyncClient, app_ids: Sequence[int]) -> None:
    if not app_ids:
        return
    # The ids written out, nothing bound: the database plans the statement for them, with the table as it is. With
    # bound values PostgreSQL soon runs it with a plan made once for any values, kept on the worker's connection
    # until the table's statistics change: made while the table was small, that plan read every release there is
    # (as autovacuum was off, a fan-out into apps of 1,000 releases each took 5-36 ms there, growing with the
    # table). `WHERE "is_current"` as the index of current releases says it (migration 0001): SQLite answers from
    # that index only then, instead of reading every release of each app.
    await connection.execute_query(
        f'UPDATE "releases" SET "is_current" = FALSE WHERE "is_current" AND "app_id" IN ({literal_ids(app_ids)})'
    )


async def _finish(connection: BaseDBAsyncClient, targets: Sequence[_Target], outcome: _Outcome, now: datetime) -> None:
    """Write where each target ended, its slug and release ids included, in one statement: the outcome's columns once,
    each target's ids joined from a list of rows (a `CASE` per column took three times as long to write out, and sent
    five values a target instead of three)."""
    if not targets:
        return
    mark = marks(connection)
    outcome_columns = (
        f'"status" = {next(mark)}, "step" = {next(mark)}, "sequence" = {next(mark)}, "attempts" = {next(mark)}, '
        f'"error_message" = {next(mark)}, "updated_at" = {next(mark)}, "lease_expires_at" = NULL'
    )
    values: list[object] = [
        outcome.status.value,
        outcome.step.value,
        outcome.sequence,
        outcome.attempts,
        outcome.error,
        now,
    ]
    rows: list[str] = []
    for target in targets:
        rows.append(f"(CAST({next(mark)} AS BIGINT), CAST({next(mark)} AS BIGINT), CAST({next(mark)} AS BIGINT))")
        values += [target.id, target.slug_id, target.release_id]
    # Both databases name a VALUES list's columns column1, column2, ...
    await connection.execute_query(
        f'UPDATE "promotion_targets" SET {outcome_columns}, "slug_id" = "ended"."column2", '
        f'"release_id" = "ended"."column3" FROM (VALUES {", ".join(rows)}) AS "ended" '
        'WHERE "promotion_targets"."id" = "ended"."column1"',
        values,
    )


def _entries(promotion_id: int, events: list[TargetState]) -> list[StreamEntry]:
    return [PROMOTION_EVENTS.entry(promotion_id, TargetChanges(promotion_id, tuple(events)))]


def _events(promotion_id: int, targets: Sequence[_Target], outcome: _Outcome, now: datetime) -> list[TargetState]:
    """Each target's events in order, as the per-target job announces them: what each step had saved so far."""
    # (status, step, error, whether the release is known) after each save, the same for every target: the release
    # is known from the release phase on.
    saves: list[tuple[TargetStatus, TargetStep, str | None, bool]] = [
        (TargetStatus.RUNNING, step, None, step == TargetStep.RELEASE_PHASE) for step in outcome.steps
    ]
    if outcome.sequence > len(outcome.steps):
        saves.append((outcome.status, outcome.step, outcome.error, True))
    return [
        TargetState(
            target.id,
            promotion_id,
            target.app_id,
            status,
            step,
            error,
            target.release_id if known else None,
            sequence,
            now,
        )
        for target in targets
        for sequence, (status, step, error, known) in enumerate(saves, start=1)
    ]
