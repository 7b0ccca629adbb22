"""A review app's build (or its release phase) ended: the review app shows its outcome, and so does GitHub."""

from __future__ import annotations

from datetime import UTC, datetime

from pipegraph.apps.models import App
from pipegraph.builds.models import Build
from pipegraph.github.deploys import build_outcome, mark_inactive, report_outcome
from pipegraph.github.service import connection_of
from pipegraph.jobs.queue import Job
from pipegraph.jobs.runtime import Runtime
from pipegraph.reviewapps.jobs import DESTROY_REVIEW_APP, announce_change, work_job
from pipegraph.reviewapps.models import ACTIVE, ReviewApp, ReviewAppStatus
from pipegraph.reviewapps.scripts import run_script
from pipegraph.sources.appjson import parse_app_json


async def after_build(build_id: int, runtime: Runtime) -> list[Job]:
    """A review app's build (or its release phase) ended: CREATED (postdeploy once, the first time) or ERRORED, when
    it is the review app's current build; an older commit's build ending says nothing of the newer one's. Its GitHub
    deployment shows the outcome; a release made live makes the one before it inactive (GitHub leaves a transient
    environment's earlier deployments active), even when postdeploy then fails: the deployment is a success that says
    so, and the review app ERRORED."""
    build = await Build.get_or_none(id=build_id)
    row = await ReviewApp.get_or_none(app_id=build.app_id) if build is not None else None
    if row is not None and row.status == ReviewAppStatus.DELETING:
        # Its destruction waited for the app's builds to stop (a job id of its own: that job may still be finishing).
        return [DESTROY_REVIEW_APP.job(row.id, retry=f"after-build-{build_id}")]
    if row is None or build is None or row.build_id != build_id or row.status != ReviewAppStatus.CREATING:
        return []
    outcome = await build_outcome(build)
    if outcome is None:
        return []
    live, message = outcome
    status = ReviewAppStatus.CREATED if live else ReviewAppStatus.ERRORED
    more: dict[str, object] = {}
    replaced = None
    if live:
        more["last_deployed_at"] = datetime.now(UTC)
        # What is deployed now, whatever postdeploy does next: the one before (the last success; failures since
        # never replaced it) is no more.
        more["live_deployment_id"] = row.github_deployment_id
        if row.live_deployment_id != row.github_deployment_id:
            replaced = row.live_deployment_id
        postdeploy = parse_app_json(row.app_json, "review").scripts.get("postdeploy")
        app = await App.get_or_none(id=row.app_id) if row.app_id else None
        if postdeploy and not row.postdeploy_ran and app is not None:
            done, output = await run_script(app, postdeploy, runtime)
            # Kept at once, whatever becomes of this build's outcome: postdeploy runs once per review app.
            await ReviewApp.filter(id=row.id).update(postdeploy_ran=True, postdeploy_output=output)
            if not done:
                # Heroku's app setup fails, so the review app is ERRORED; its release is live all the same, and
                # GitHub is told both.
                last = output.splitlines()[-1] if output else "no output"
                status, message = ReviewAppStatus.ERRORED, f"{message}, but the postdeploy script failed: {last}"
    # Only while it is still the current build: a newer commit may have been claimed during postdeploy.
    if not await ReviewApp.filter(id=row.id, build_id=build_id, status=ReviewAppStatus.CREATING).update(
        status=status, message=message, **more
    ):
        return []
    await announce_change(runtime, row)
    connection = await connection_of(row.pipeline_id)
    if connection is not None:
        await report_outcome(connection.full_name, row.github_deployment_id, runtime, ok=live, message=message)
        if replaced is not None:
            description = f"replaced by the deployment of {(row.building_sha or '')[:7]}"
            await mark_inactive(connection.full_name, [replaced], runtime, description=description)
    await row.refresh_from_db()
    if row.head_sha != row.building_sha and row.status in ACTIVE:
        return [work_job(row.id)]  # a newer commit came while this one built
    return []
