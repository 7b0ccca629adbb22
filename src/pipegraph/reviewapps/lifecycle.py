"""Review apps for pull requests: `<baseName>-pr-<N>`, created on `opened`/`reopened` (when automatic, never for
forks), rebuilt on `synchronize`, destroyed on `closed` after `scripts.pr-predestroy`, reaped when stale.

Each review app is one row per pull request (unique), worked by one job kind that builds its wanted commit
(`work_review_app`, here) and one that destroys it (`destroy_review_app`, destroy.py); its build's end is
after_build.py's. A build is claimed by a conditional update of `building_sha`, so two deliveries for one pull
request at once give one app and one build.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.apps.service import validate_stack
from pipegraph.builds.service import cancel_build
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.names import validate_name
from pipegraph.github.ci_wait import no_ci_reported, wait_or_give_up
from pipegraph.github.client import CiState, GitHubClient, GitHubUnavailable
from pipegraph.github.deploys import start_deployment
from pipegraph.github.events import GitHubEvent, Handled, ci_sha, on_ci_status, on_pull_request
from pipegraph.github.service import connection_of, require_connection
from pipegraph.github.tarballs import build_source, fetch_commit_source
from pipegraph.jobs.queue import Job
from pipegraph.jobs.runtime import Runtime
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
from pipegraph.pipelines.stage_config import stage_config_vars
from pipegraph.reviewapps.destroy import destroy_app
from pipegraph.reviewapps.jobs import DESTROY_REVIEW_APP, announce_change, destroy_job, set_status, work_job
from pipegraph.reviewapps.models import ACTIVE, ReviewApp, ReviewAppConfig, ReviewAppStatus
from pipegraph.reviewapps.recovery import crashed
from pipegraph.reviewapps.service import EphemeralKind, create_ephemeral_app, left_behind
from pipegraph.sources.appjson import parse_app_json, read_app_json
from pipegraph.streams.pipeline import NewsKind, announce

logger = logging.getLogger(__name__)

MAX_BASE_NAME = 20  # "-pr-" and a pull request number of up to 6 digits still fit an app name's 30


def review_app_name(base_name: str, pr_number: int) -> str:
    return f"{base_name}-pr-{pr_number}"


async def enable_review_apps(
    pipeline: Pipeline,
    *,
    automatic: bool,
    destroy_stale_apps: bool,
    stale_days: int,
    wait_for_ci: bool,
    base_name: str | None,
) -> ReviewAppConfig:
    await require_connection(pipeline)
    base = (base_name or pipeline.name)[:MAX_BASE_NAME].rstrip("-")
    validate_name(f"{base}-pr-1", what="review app")
    if not 1 <= stale_days <= 30:
        raise DomainError(ErrorCode.INVALID, "staleDays must be from 1 to 30", field="staleDays")
    config, _ = await ReviewAppConfig.update_or_create(
        defaults={
            "automatic": automatic,
            "destroy_stale_apps": destroy_stale_apps,
            "stale_days": stale_days,
            "wait_for_ci": wait_for_ci,
            "base_name": base,
        },
        pipeline_id=pipeline.id,
    )
    return config


async def disable_review_apps(pipeline: Pipeline) -> None:
    """Heroku's DELETE of review-app-config. The research says nothing of what becomes of the review apps there are,
    so they stay: each still rebuilds on a push and goes when its pull request closes (or by deleteReviewApp); only
    new ones stop, automatic or by hand, until enableReviewApps again."""
    if not await ReviewAppConfig.filter(pipeline_id=pipeline.id).delete():
        raise DomainError(
            ErrorCode.REVIEW_APPS_NOT_ENABLED,
            f"review apps are not enabled on pipeline {pipeline.name}: nothing to disable",
            field="pipeline",
        )


async def request_review_app(
    config: ReviewAppConfig,
    *,
    pr_number: int,
    branch: str = "",
    sha: str = "",
    fork: bool = False,
    user: User | None = None,
) -> tuple[ReviewApp, list[Job]]:
    """The pull request's review app, asked for (again): a new row, or the one it had (reopened, or a redelivery)."""
    fields: dict[str, Any] = {
        "branch": branch,
        "head_sha": sha,
        "fork": fork,
        "wait_for_ci": config.wait_for_ci,
        "app_name": review_app_name(config.base_name, pr_number),
        "created_by_id": user.id if user else None,
    }
    try:
        async with in_transaction():
            row = await ReviewApp.create(pipeline_id=config.pipeline_id, pr_number=pr_number, **fields)
    except IntegrityError:
        row = await ReviewApp.get(pipeline_id=config.pipeline_id, pr_number=pr_number)
        if row.status in (ReviewAppStatus.DELETED, ReviewAppStatus.DELETING):
            # Reopened: a new app from scratch (a DELETING one is taken over once its destruction ends).
            await ReviewApp.filter(id=row.id, status=ReviewAppStatus.DELETED).update(
                **fields,
                status=ReviewAppStatus.PENDING,
                message="",
                building_sha=None,
                build_id=None,
                postdeploy_ran=False,
                postdeploy_output=None,
                predestroy_output=None,
                app_json={},
                ci_deadline=None,
                worked_sha=None,
                crashes=0,
                next_try_at=None,
                github_deployment_id=None,
                live_deployment_id=None,
            )
        else:
            # Asked for again: it waits for CI as the config now says (the way out of a wait given up).
            changes: dict[str, Any] = {"wait_for_ci": config.wait_for_ci, "crashes": 0, "next_try_at": None}
            if sha and sha != row.head_sha:
                changes.update(head_sha=sha, branch=branch or row.branch, ci_deadline=None)
            await ReviewApp.filter(id=row.id).update(**changes)
        await row.refresh_from_db()
    return row, [work_job(row.id)]


async def _config_of(pipeline_id: int) -> ReviewAppConfig | None:
    return await ReviewAppConfig.get_or_none(pipeline_id=pipeline_id)


@on_pull_request
async def review_apps_for_pull_request(event: GitHubEvent) -> Handled:
    pull = event.data.get("pull_request") or {}
    number = int(event.data.get("number") or pull.get("number") or 0)
    head, base = pull.get("head") or {}, pull.get("base") or {}
    head_repo = str((head.get("repo") or {}).get("full_name", "")).lower()
    fork = (
        bool((head.get("repo") or {}).get("fork"))
        or head_repo != str((base.get("repo") or {}).get("full_name", "")).lower()
    )
    branch, sha = str(head.get("ref", "")), str(head.get("sha", ""))
    handled = Handled()
    notes = []
    for connection in event.connections:
        if event.action in ("opened", "reopened"):
            # Only new review apps need review apps enabled: those made before disableReviewApps live on.
            config = await _config_of(connection.pipeline_id)
            if config is None:
                notes.append("review apps are not enabled")
                continue
            if fork:
                notes.append(f"pull request #{number} comes from a fork: create its review app by hand")
                continue
            if not config.automatic:
                notes.append("automatic review apps are off")
                continue
            row, jobs = await request_review_app(config, pr_number=number, branch=branch, sha=sha)
            handled.jobs.extend(jobs)
            notes.append(f"review app {row.app_name} requested at {sha[:7]}")
        elif event.action == "synchronize":
            updated = await ReviewApp.filter(
                pipeline_id=connection.pipeline_id, pr_number=number, status__in=ACTIVE
            ).update(head_sha=sha, branch=branch, ci_deadline=None, crashes=0, next_try_at=None)
            if updated:
                row = await ReviewApp.get(pipeline_id=connection.pipeline_id, pr_number=number)
                handled.jobs.append(work_job(row.id))
                notes.append(f"review app {row.app_name} rebuilds at {sha[:7]}")
        elif event.action == "closed":
            row_to_go = await ReviewApp.get_or_none(
                pipeline_id=connection.pipeline_id, pr_number=number, status__in=ACTIVE
            )
            if row_to_go is not None:
                await ReviewApp.filter(id=row_to_go.id).update(
                    status=ReviewAppStatus.DELETING, message="pull request closed", updated_at=datetime.now(UTC)
                )
                handled.jobs.append(destroy_job(row_to_go.id))
                notes.append(f"review app {row_to_go.app_name} is destroyed")
    handled.note = "; ".join(notes)
    return handled


@on_ci_status
async def recheck_review_apps(event: GitHubEvent) -> Handled:
    sha = ci_sha(event)
    if sha is None:
        return Handled()
    pipeline_ids = [connection.pipeline_id for connection in event.connections]
    # Not only those never built (PENDING): one built before waits on its newer commit as it is (CREATED, ERRORED).
    waiting = await ReviewApp.filter(
        Q(building_sha__isnull=True) | ~Q(building_sha=sha),
        pipeline_id__in=pipeline_ids,
        head_sha=sha,
        wait_for_ci=True,
        status__in=ACTIVE,
    )
    jobs = [work_job(row.id) for row in waiting]
    return Handled(f"{len(jobs)} review app(s) waiting for CI on {sha[:7]} look again" if jobs else "", jobs)


async def create_review_app_by_hand(
    pipeline: Pipeline, pr_number: int, *, user: User | None
) -> tuple[ReviewApp, list[Job]]:
    """createReviewApp: any pull request, forks included; the job looks its head up on GitHub."""
    await require_connection(pipeline)
    config = await _config_of(pipeline.id)
    if config is None:
        raise DomainError(
            ErrorCode.REVIEW_APPS_NOT_ENABLED,
            f"review apps are not enabled on pipeline {pipeline.name}: enableReviewApps first",
            field="pipeline",
        )
    if pr_number < 1:
        raise DomainError(ErrorCode.INVALID, "pullRequest must be a pull request number", field="pullRequest")
    return await request_review_app(config, pr_number=pr_number, user=user)


async def _parent_app_name(pipeline_id: int) -> str | None:
    for stage in (Stage.STAGING, Stage.DEVELOPMENT, Stage.PRODUCTION):
        coupling = await PipelineCoupling.filter(pipeline_id=pipeline_id, stage=stage).order_by("id").first()
        if coupling is not None:
            return (await App.get(id=coupling.app_id)).name
    return None


def injected_vars(row: ReviewApp, parent: str | None) -> dict[str, str]:
    values = {"APP_NAME": row.app_name, "BRANCH": row.branch, "PR_NUMBER": str(row.pr_number)}
    if parent:
        values["PARENT_APP_NAME"] = parent
    return {f"{prefix}_{key}": value for prefix in ("HEROKU", "PIPEGRAPH") for key, value in values.items()}


async def work_review_app(review_app_id: int, runtime: Runtime) -> list[Job]:
    """Build the review app's wanted commit (creating its app the first time), once CI allows when it must wait.

    The job id is the review app's, so a push that comes while this job runs is refused by the queue (its id is
    taken): once done with one commit, the job looks at the wanted commit again and works on a newer one itself. Its
    claim then cancels the build just made, as any newer commit does. A push after that last look, before the queue
    lets go of the job id, is refused too: the commit each pass finished with is kept (`worked_sha`), and the
    reconciler hands a wanted commit no job finished with to a job of its own (recovery.py)."""
    jobs: list[Job] = []
    while True:
        try:
            more, worked_on = await _work_once(review_app_id, runtime)
        except Exception as error:
            try:
                await crashed(review_app_id, error, runtime)
            except Exception:
                raise error from None  # nothing recorded (the database away?): the reconciler tries again
            return jobs
        jobs.extend(more)
        if worked_on is None:
            return jobs
        await ReviewApp.filter(id=review_app_id).update(worked_sha=worked_on, crashes=0, next_try_at=None)
        if not await ReviewApp.filter(id=review_app_id, status__in=ACTIVE).exclude(head_sha=worked_on).exists():
            return jobs
        logger.info("review app %s: a newer commit than %s came meanwhile, working on it", review_app_id, worked_on[:7])


async def _work_once(review_app_id: int, runtime: Runtime) -> tuple[list[Job], str | None]:
    """One pass at the wanted commit: the jobs next, and the commit looked at, "" for a pull request whose head could
    not be looked up (None: the review app is going, there is nothing more to do)."""
    row = await ReviewApp.get_or_none(id=review_app_id)
    if row is None or row.status in (ReviewAppStatus.DELETING, ReviewAppStatus.DELETED):
        return [], None
    pipeline = await Pipeline.get(id=row.pipeline_id)
    connection = await connection_of(pipeline.id)
    if connection is None:
        await set_status(runtime, row, ReviewAppStatus.ERRORED, "the pipeline is no longer connected to GitHub")
        return [], row.head_sha
    settings = runtime.settings
    sha = row.head_sha
    try:
        async with GitHubClient.for_repository(settings.github, connection.full_name) as github:
            if not row.head_sha:
                pull = await github.pull_request(row.pr_number)
                await ReviewApp.filter(id=row.id).update(head_sha=pull.sha, branch=pull.branch, fork=pull.fork)
                await row.refresh_from_db()
            sha = row.head_sha
            if row.wait_for_ci:
                ci = await github.combined_ci(sha)
                if ci.failed:
                    await set_status(
                        runtime, row, ReviewAppStatus.ERRORED, f"not built: CI failed on {sha[:7]}: {ci.reason}"
                    )
                    return [], sha
                if not ci.succeeded:
                    await _still_waiting(row, runtime, sha, ci)
                    return [], sha
            before = await _claim(row.id, sha)
            if before is None:
                return [], sha
            await announce_change(runtime, row)
            if before.status == ReviewAppStatus.CREATING and before.build_id is not None:
                # Its build had not reported its outcome yet, and now never will.
                await _supersede(before, before.build_id, github, sha)
            return await _build(row, pipeline, github, sha, runtime), sha
    except DomainError as error:
        # Conditional: a pull request closed meanwhile is being destroyed, and that is what it shows.
        if await ReviewApp.filter(id=row.id, status__in=ACTIVE).update(
            status=ReviewAppStatus.ERRORED, message=error.message
        ):
            await announce_change(runtime, row)
        return [], sha


async def _claim(review_app_id: int, sha: str) -> ReviewApp | None:
    """Make `sha` the commit the review app builds; None when it is not to be built (already claimed, or the review
    app is going), else the row as it was before.

    The build of an older commit is no longer the review app's own (build_id is the next one's once it is made): if
    it ends meanwhile, it does not set the review app's status. The write is conditional on the row as read, so that
    build's end (after_build's conditional write) either came first, and reported its outcome, or finds it claimed.

    A commit claimed with no build made is claimed again: the job that claimed it stopped before it made the build
    (its worker died; it held the job id, so none other ran meanwhile), and the reconciler started this one."""
    while True:
        row = await ReviewApp.get_or_none(id=review_app_id, status__in=ACTIVE)
        if row is None:
            return None
        abandoned = row.status == ReviewAppStatus.CREATING and row.build_id is None
        if row.building_sha == sha and not abandoned:
            return None
        as_read = {
            "id": row.id,
            "status": row.status,
            **_equal("building_sha", row.building_sha),
            **_equal("build_id", row.build_id),
        }
        # A deployment still in progress is superseded (marked inactive) and forgotten; a finished one is kept, for
        # the destruction to mark inactive should the newer build never make its own.
        superseded = {"github_deployment_id": None} if row.status == ReviewAppStatus.CREATING else {}
        if await ReviewApp.filter(**as_read).update(
            status=ReviewAppStatus.CREATING,
            building_sha=sha,
            build_id=None,
            message=f"building {sha[:7]}",
            **superseded,
        ):
            return row
        # The row moved between the read and the write (a build ended, a pull request closed): read it again.


def _equal(field: str, value: object) -> dict[str, object]:
    return {f"{field}__isnull": True} if value is None else {field: value}


async def _supersede(older: ReviewApp, build_id: int, github: GitHubClient, sha: str) -> None:
    """The older commit's build is cancelled (its commands stopped, its log ends with why) before the newer one is
    made: so it either succeeded already, its release numbered below the newer build's, or it never releases (the
    cancel and its success are each one conditional write of its status). Its GitHub deployment, which no outcome
    will end any more, is marked inactive."""
    reason = f"superseded by commit {sha[:7]}"
    await cancel_build(build_id, f"cancelled: {reason} of pull request #{older.pr_number}")
    if older.github_deployment_id is None:
        return
    try:
        await github.post_deployment_status(
            older.github_deployment_id,
            state="inactive",
            description=f"{reason}: the review app builds that commit instead",
        )
    except GitHubUnavailable as error:
        logger.warning("could not mark %s's superseded deployment inactive: %s", older.app_name, error.message)


async def _still_waiting(row: ReviewApp, runtime: Runtime, sha: str, ci: CiState) -> None:
    """The same deadline as automatic deploys: a commit no CI reports on is given up, saying why (an app not made
    yet is ERRORED; one built before keeps its status and its running release)."""
    timeout = runtime.settings.github.wait_for_ci_timeout
    waiting = ReviewApp.filter(id=row.id, status=row.status, head_sha=sha)  # a newer push or a closing wins
    reason = no_ci_reported(sha, timeout, "its request or last push")
    give_up = {
        "status": ReviewAppStatus.ERRORED if row.status == ReviewAppStatus.PENDING else row.status,
        "message": f"not built: {reason}; with waitForCi a review app needs CI on the repository: set CI up and push "
        "again, or turn waitForCi off and createReviewApp again",
    }
    await wait_or_give_up(waiting, ci, timeout, deadline=row.ci_deadline, give_up=give_up)
    await announce_change(runtime, row)


async def overdue_review_apps(now: datetime) -> list[Job]:
    """Review apps waiting for CI past their deadline look at GitHub again (the cron of overdue deploys)."""
    overdue = await ReviewApp.filter(
        Q(next_try_at__isnull=True) | Q(next_try_at__lte=now), wait_for_ci=True, ci_deadline__lte=now, status__in=ACTIVE
    ).order_by("id")
    return [work_job(row.id) for row in overdue]


async def _build(row: ReviewApp, pipeline: Pipeline, github: GitHubClient, sha: str, runtime: Runtime) -> list[Job]:
    settings = runtime.settings
    app = await App.get_or_none(id=row.app_id) if row.app_id else None
    creating = app is None
    if app is None:
        app = await left_behind(
            row.pipeline_id, row.app_name, EphemeralKind.REVIEW, held=lambda app_id: ReviewApp.exists(app_id=app_id)
        ) or await create_ephemeral_app(
            pipeline,
            name=row.app_name,
            kind=EphemeralKind.REVIEW,
            default_stack=settings.default_stack,
            redis_url=settings.redis_url,
        )
        await ReviewApp.filter(id=row.id).update(app_id=app.id)
    source, tarball = await fetch_commit_source(
        settings, app=app, full_name=github.full_name, sha=sha, user_id=row.created_by_id
    )
    document = read_app_json(tarball) or {}
    spec = parse_app_json(document, "review")
    if creating:
        overrides = {**await stage_config_vars(pipeline.id, Stage.REVIEW)}
        overrides.update(injected_vars(row, await _parent_app_name(pipeline.id)))
        values, missing = spec.config(overrides)
        if missing:
            await destroy_app(app, settings)
            await ReviewApp.filter(id=row.id).update(app_id=None, building_sha=None)
            names = ", ".join(missing)
            raise DomainError(
                ErrorCode.INVALID_CONFIG_VAR,
                f"app.json requires config var {names} and no value was given: set it with "
                f"setStageConfigVars(stage: REVIEW) or give it a value in app.json",
            )
        app.config_vars = values
        if spec.stack:
            app.stack = validate_stack(spec.stack)
        await app.save(update_fields=["config_vars", "stack", "updated_at"])
    build, jobs = await build_source(
        settings,
        app=app,
        source=source,
        sha=sha,
        description=f"pull request #{row.pr_number}",
        user_id=row.created_by_id,
        buildpacks=spec.buildpacks or None,
    )
    # Recorded at once, and only while the review app is not being destroyed: a destruction that began meanwhile
    # (its pull request closed) may have missed this build, so it is woken to cancel it, and the build is not run.
    if not await ReviewApp.filter(id=row.id, status__in=ACTIVE).update(build_id=build.id, app_json=document):
        return [DESTROY_REVIEW_APP.job(row.id, retry=f"after-build-{build.id}")]
    deployment_id = await start_deployment(github, sha, app.name, transient=True)
    await ReviewApp.filter(id=row.id).update(github_deployment_id=deployment_id)
    await announce(runtime.redis, pipeline.id, NewsKind.BUILD, build.id)
    return jobs
