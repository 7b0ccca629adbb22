"""Review apps never left stuck: neither DELETING for ever, nor on an older commit than their pull request's head.

A destruction waits for the app's cancelled build to stop, and the build's end wakes it. That wake never comes when
the worker at the build dies after the cancel, or when the build ended before the review app recorded it. So a
review app DELETING for longer than a grace period gets its destroy job again: the job id is the row's, so a destroy
still queued or running refuses the second one (finished jobs keep no result), and the destroy looks at the app's
builds afresh each time.

A push's job is refused while the review app's job still holds its id: after that job's last look at the wanted
commit, before the queue lets go of the id, the push is seen by nobody. When that job made a build, the build's end
starts the job again; when it did not (the older commit errored, or waits for CI), nothing would. So a review app
whose wanted commit (`head_sha`) is not the one its job last finished with (`worked_sha`) gets its job: one still
queued or running refuses it, one that runs looks at the wanted commit. The same finds a work job lost on its way
to the queue (Redis away).

Nor retried for ever at every pass: a job that failed on an unexpected error says why on the review app, and waits
longer before each next try (`crashed`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from pipegraph.builds.models import Build, BuildStatus
from pipegraph.jobs.queue import Job
from pipegraph.jobs.runtime import Runtime
from pipegraph.reviewapps.jobs import announce_change, destroy_job, work_job
from pipegraph.reviewapps.models import ACTIVE, ReviewApp, ReviewAppStatus

logger = logging.getLogger(__name__)

# Longer than a destruction's own steps take to hand over to each other (close, destroy, the build's end).
DELETING_GRACE = timedelta(seconds=60)
# A job failing unexpectedly is tried again by the reconciler (every 30 s) after this, doubled at each failure in a
# row, up to CRASH_WAIT_MAX: a bug is not retried twice a minute for ever, and what it says stays on the review app.
CRASH_WAIT_FIRST = timedelta(seconds=30)
CRASH_WAIT_MAX = timedelta(hours=1)


async def reconcile_review_apps(now: datetime) -> list[Job]:
    """The destroy jobs of the review apps DELETING for longer than DELETING_GRACE, then the work jobs of those
    whose wanted commit no job finished with."""
    jobs: list[Job] = []
    stuck = await ReviewApp.filter(status=ReviewAppStatus.DELETING, updated_at__lt=now - DELETING_GRACE).order_by("id")
    for row in stuck:
        if row.app_id is not None:
            # A cancelled build whose lease ran out lost its worker (a live one clears it when it lets go): nobody is
            # at it any more, so the destruction need not wait for it.
            await Build.filter(app_id=row.app_id, status=BuildStatus.FAILED, lease_expires_at__lt=now).update(
                lease_expires_at=None
            )
        jobs.append(destroy_job(row.id))
    return jobs + await unworked_review_apps(now)


async def unworked_review_apps(now: datetime) -> list[Job]:
    """The jobs of the review apps there are whose wanted commit their job did not finish with. No grace period: a
    job still at it refuses its twin, so this is at worst a look that finds nothing to do. One whose job failed
    unexpectedly waits until its next try (lifecycle.crashed)."""
    unworked = ReviewApp.filter(
        Q(worked_sha__isnull=True) | ~Q(worked_sha=F("head_sha")),
        Q(next_try_at__isnull=True) | Q(next_try_at__lte=now),
        status__in=ACTIVE,
    )
    return [work_job(row.id) for row in await unworked.order_by("id").only("id")]


async def crashed(review_app_id: int, error: Exception, runtime: Runtime) -> None:
    """The job failed on an error nobody foresaw (a bug, an answer of GitHub's unlike any other): the review app says
    so, and the reconciler tries again only after a wait that doubles at each failure in a row, up to CRASH_WAIT_MAX.

    A build that was made goes on and reports its outcome as any build does; otherwise the review app is ERRORED, and
    a commit its job claimed without making the build is left to claim again."""
    logger.exception("review app %s: its job failed", review_app_id)
    row = await ReviewApp.get_or_none(id=review_app_id, status__in=ACTIVE)
    if row is None:
        return
    crashes = row.crashes + 1
    wait = min(CRASH_WAIT_FIRST * 2 ** min(crashes - 1, 16), CRASH_WAIT_MAX)
    reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
    changes: dict[str, Any] = {
        "crashes": crashes,
        "next_try_at": datetime.now(UTC) + wait,
        "message": f"pipegraph failed unexpectedly working on {(row.head_sha or 'the pull request')[:7]} ({reason}); "
        f"tried again in {_duration(wait)} (failure {crashes} in a row), or at the next push",
    }
    if row.status != ReviewAppStatus.CREATING or row.build_id is None:
        changes["status"] = ReviewAppStatus.ERRORED
        if row.status == ReviewAppStatus.CREATING:
            changes["building_sha"] = None
    build = {"build_id__isnull": True} if row.build_id is None else {"build_id": row.build_id}
    as_read = {"id": row.id, "status": row.status, **build}
    if await ReviewApp.filter(**as_read).update(**changes):
        await announce_change(runtime, row)


def _duration(wait: timedelta) -> str:
    seconds = int(wait.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
