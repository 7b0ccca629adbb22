"""A review app's two job kinds (one builds its wanted commit, one destroys it), and how their steps record and announce
a change of the review app."""

from __future__ import annotations

from pipegraph.jobs.queue import Job, JobKind
from pipegraph.jobs.runtime import Runtime
from pipegraph.reviewapps.models import ReviewApp, ReviewAppStatus
from pipegraph.streams.pipeline import NewsKind, announce

WORK_REVIEW_APP = JobKind("work_review_app", "review-app")
DESTROY_REVIEW_APP = JobKind("destroy_review_app", "review-app-destroy")


def work_job(review_app_id: int) -> Job:
    return WORK_REVIEW_APP.job(review_app_id)


def destroy_job(review_app_id: int) -> Job:
    return DESTROY_REVIEW_APP.job(review_app_id)


async def announce_change(runtime: Runtime, row: ReviewApp) -> None:
    await announce(runtime.redis, row.pipeline_id, NewsKind.REVIEW_APP, row.id)


async def set_status(runtime: Runtime, row: ReviewApp, status: ReviewAppStatus, message: str, **more: object) -> None:
    await ReviewApp.filter(id=row.id).update(status=status, message=message, **more)
    await announce_change(runtime, row)
