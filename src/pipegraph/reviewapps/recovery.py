"""Review apps never left DELETING for ever.

A destruction waits for the app's cancelled build to stop, and the build's end wakes it. That wake never comes when
the worker at the build dies after the cancel, or when the build ended before the review app recorded it. So a
review app DELETING for longer than a grace period gets its destroy job again: the job id is the row's, so a destroy
still queued or running refuses the second one (finished jobs keep no result), and the destroy looks at the app's
builds afresh each time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pipegraph.builds.models import Build, BuildStatus
from pipegraph.jobs.queue import Job
from pipegraph.reviewapps.jobs import destroy_job
from pipegraph.reviewapps.models import ReviewApp, ReviewAppStatus

# Longer than a destruction's own steps take to hand over to each other (close, destroy, the build's end).
DELETING_GRACE = timedelta(seconds=60)


async def reconcile_review_apps(now: datetime) -> list[Job]:
    """The destroy jobs of the review apps DELETING for longer than DELETING_GRACE."""
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
    return jobs
