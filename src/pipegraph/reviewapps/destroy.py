"""A review app going: by hand (deleteReviewApp), its pull request closed, or stale; `scripts.pr-predestroy` first,
then its app and everything of it. A destruction waits for the app's builds to stop (their end wakes it)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from pipegraph.apps.models import App
from pipegraph.builds.models import Build
from pipegraph.builds.service import cancel_builds
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.github.deploys import mark_inactive
from pipegraph.github.service import connection_of
from pipegraph.jobs.queue import Job
from pipegraph.jobs.runtime import Runtime
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.stage_config import schedule_if_empty
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.reviewapps.jobs import destroy_job, set_status
from pipegraph.reviewapps.models import ACTIVE, ReviewApp, ReviewAppConfig, ReviewAppStatus
from pipegraph.reviewapps.scripts import run_script
from pipegraph.sandbox.workspace import remove_tree
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from pipegraph.sources.appjson import parse_app_json

logger = logging.getLogger(__name__)


async def delete_review_app(pipeline: Pipeline, pr_number: int) -> tuple[ReviewApp, list[Job]]:
    """deleteReviewApp: destroy it now, as closing its pull request would."""
    row = await ReviewApp.get_or_none(pipeline_id=pipeline.id, pr_number=pr_number, status__in=ACTIVE)
    if row is None:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"pull request #{pr_number} has no review app in {pipeline.name}", field="pullRequest"
        )
    await ReviewApp.filter(id=row.id).update(
        status=ReviewAppStatus.DELETING, message="deleted by hand", updated_at=datetime.now(UTC)
    )
    await row.refresh_from_db()
    return row, [destroy_job(row.id)]


async def destroy_app(app: App, settings: Settings) -> None:
    """The app and everything of it: releases first (they hold their slugs), then the app's own rows cascade, its
    access rows (collaborators) included, and its build cache (a later app may get its id, on SQLite)."""
    async with in_transaction():
        await Build.filter(app_id=app.id).update(release_id=None, slug_id=None)
        await Release.filter(app_id=app.id).delete()
        await Slug.filter(app_id=app.id).delete()
        await app.delete()
    await asyncio.to_thread(remove_tree, settings.build_cache_dir / "apps" / str(app.id))


async def _still_building(row: ReviewApp, app: App) -> bool:
    """Destroying the app under its build or release phase would end them in errors: its builds are cancelled, and
    while a worker may still be at one, or a release phase runs, the destruction waits (their end wakes it; the
    reconciler, should that never come). Looked at afresh each time: a build cancelled before whose worker has not
    let go of it yet (its lease still runs) counts, as does one created since."""
    cancelled, _ = await cancel_builds(
        app.id, f"cancelled: review app {row.app_name} is being destroyed ({row.message or 'deleted'})"
    )
    if cancelled:
        row.message = f"{row.message}; its build was cancelled" if row.message else "its build was cancelled"
        await ReviewApp.filter(id=row.id).update(message=row.message)
    running = await Build.filter(app_id=app.id, lease_expires_at__gt=datetime.now(UTC)).exists()
    releasing = await Release.filter(app_id=app.id, status=ReleaseStatus.PENDING).exists()
    return running or releasing


async def destroy_review_app(review_app_id: int, runtime: Runtime) -> list[Job]:
    """`scripts.pr-predestroy` (when the app.json has one and the app has a release), then the app goes."""
    row = await ReviewApp.get_or_none(id=review_app_id)
    if row is None or row.status != ReviewAppStatus.DELETING:
        return []
    app = await App.get_or_none(id=row.app_id) if row.app_id else None
    if app is not None and await _still_building(row, app):
        logger.info("review app %s is destroyed once its build or release phase stopped", row.app_name)
        return []
    output = None
    if app is not None:
        predestroy = parse_app_json(row.app_json, "review").scripts.get("pr-predestroy")
        if predestroy:
            _, output = await run_script(app, predestroy, runtime)
        await destroy_app(app, runtime.settings)
    reason = f"destroyed: {row.message}" if row.message else "destroyed"
    await set_status(runtime, row, ReviewAppStatus.DELETED, reason, app_id=None, predestroy_output=output)
    await schedule_if_empty(row.pipeline_id, runtime.settings.empty_pipeline_grace)
    connection = await connection_of(row.pipeline_id)
    if connection is not None:
        # The current build's deployment, and the last successful one when that build did not succeed.
        await mark_inactive(connection.full_name, [row.github_deployment_id, row.live_deployment_id], runtime)
    return []


async def reap_stale_review_apps(now: datetime) -> list[Job]:
    """Review apps with no deploy for their pipeline's `staleDays` (where destroying stale apps is on) go."""
    jobs: list[Job] = []
    for config in await ReviewAppConfig.filter(destroy_stale_apps=True):
        cutoff = now - timedelta(days=config.stale_days)
        stale = await ReviewApp.filter(
            Q(last_deployed_at__lt=cutoff) | Q(last_deployed_at__isnull=True, created_at__lt=cutoff),
            pipeline_id=config.pipeline_id,
            status__in=(ReviewAppStatus.CREATED, ReviewAppStatus.ERRORED),
        )
        for row in stale:
            if await ReviewApp.filter(id=row.id, status=row.status).update(
                status=ReviewAppStatus.DELETING,
                message=f"stale: no deploy for {config.stale_days} days",
                updated_at=datetime.now(UTC),
            ):
                jobs.append(destroy_job(row.id))
    return jobs
