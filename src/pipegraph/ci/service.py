"""Pipeline CI: the switch, starting and cancelling numbered test runs (the TEST stage's config vars are the
pipeline's: pipelines/stage_config.py).

A run is written PENDING with its node(s) in one transaction; each node is an arq job (execution.py). Who may do what
is the seed's table for CI (access.rules.EphemeralAction): pipeline admins may do everything; anyone else needs the
pipeline-level permission the table names ("Enable CI" and "Cancel CI runs": manage only).
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pipegraph.access.policy import Access
from pipegraph.access.rules import EphemeralAction, PipelineRight, ephemeral_allows
from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds.service import app_buildpacks
from pipegraph.ci.commits import Commit
from pipegraph.ci.models import UNFINISHED, PipelineCi, TestNode, TestRun, TestRunStatus
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.jobs.queue import Job, JobKind
from pipegraph.pipelines.access_tab import pipeline_permissions
from pipegraph.pipelines.models import Pipeline, PipelineCoupling
from pipegraph.sources.models import Source
from pipegraph.streams.pipeline import NewsKind
from pipegraph.streams.pipeline import announce as announce_news

RUN_TEST_NODE = JobKind("run_test_node", "test-node")
REPORT_TEST_RUN = JobKind("report_test_run", "test-report")
NUMBERING_ATTEMPTS = 5


def node_job(node_id: int, *, retry: int = 0) -> Job:
    """As a build's: one id for the first run, a fresh one for a takeover after a dead worker."""
    return RUN_TEST_NODE.job(node_id, retry=retry or None)


def report_job(run: TestRun) -> Job:
    """One report per run and status: each transition is told once, and the report reads the run as it then is."""
    return REPORT_TEST_RUN.job(run.id, retry=run.status.value)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Who may ----------------------------------------------------------------------------------------------------------

_MEMBERS_MAY = {EphemeralAction.CREATE_CI_APPS, EphemeralAction.EDIT_CONFIG_VARS}


async def require_ci(access: Access, pipeline: Pipeline, action: EphemeralAction, *, field: str = "pipeline") -> None:
    """Pipeline admins may do everything; members may start runs and set the TEST config vars (as they may create
    CI apps); anyone else needs pipeline access allowing `action`. Unseen pipelines are not found."""
    rights = await access.pipeline_rights(pipeline, await access.pipeline_apps(pipeline))
    if PipelineRight.ADMIN in rights or (PipelineRight.MEMBER in rights and action in _MEMBERS_MAY):
        return
    permissions = await pipeline_permissions(pipeline, access.viewer)
    if PipelineRight.VIEW not in rights and not permissions:
        raise NotFound("pipeline", pipeline.name, field=field)
    if not ephemeral_allows(permissions, action):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            f"{action.value} in pipeline {pipeline.name} needs pipeline access allowing it",
            field=field,
        )


# The switch -----------------------------------------------------------------------


async def ci_settings(pipeline_id: int) -> PipelineCi | None:
    return await PipelineCi.get_or_none(pipeline_id=pipeline_id)


async def set_ci(pipeline: Pipeline, *, enabled: bool, cancel_superseded: bool | None = None) -> PipelineCi:
    defaults: dict[str, object] = {"enabled": enabled}
    if cancel_superseded is not None:
        defaults["cancel_superseded"] = cancel_superseded
    row, _ = await PipelineCi.update_or_create(defaults=defaults, pipeline_id=pipeline.id)
    return row


# Runs ---------------------------------------------------------------------------------------------------------------


async def ci_pipeline_of(app: App) -> Pipeline | None:
    """The pipeline of `app` when it has CI on: its pushes are tested too."""
    coupling = await PipelineCoupling.get_or_none(app_id=app.id)
    if coupling is None or app.ephemeral:
        return None
    ci = await ci_settings(coupling.pipeline_id)
    return await Pipeline.get(id=coupling.pipeline_id) if ci is not None and ci.enabled else None


async def require_ci_on(pipeline: Pipeline) -> None:
    ci = await ci_settings(pipeline.id)
    if ci is None or not ci.enabled:
        raise DomainError(
            ErrorCode.CI_NOT_ENABLED, f"pipeline {pipeline.name} does not have CI on: enableCi first", field="pipeline"
        )


async def rerun_test_run(
    earlier: TestRun, pipeline: Pipeline, *, actor: User | None
) -> tuple[TestRun, list[TestRun], list[Job]]:
    """A new run of the earlier run's commit, recorded on the earlier run's branch, from the same tree (its stored
    source, else the repository or app it came from): looking the commit up again could name another branch (any
    branch holding it), or for GitHub none at all."""
    await require_ci_on(pipeline)
    commit = Commit(sha=earlier.commit_sha, branch=earlier.commit_branch, message=earlier.commit_message)
    return await start_test_run(
        pipeline=pipeline,
        commit=commit,
        source_app=await App.get_or_none(id=earlier.source_app_id) if earlier.source_app_id else None,
        source=await Source.get_or_none(id=earlier.source_id) if earlier.source_id else None,
        actor=actor,
        repository=earlier.repository,
    )


async def start_test_run(
    *,
    pipeline: Pipeline,
    commit: Commit,
    source_app: App | None,
    source: Source | None,
    actor: User | None,
    actor_login: str | None = None,
    repository: str | None = None,
) -> tuple[TestRun, list[TestRun], list[Job]]:
    """A PENDING run numbered next in the pipeline, the older runs of its branch it cancelled (when the pipeline
    says so), and the jobs to enqueue after commit."""
    ci = await ci_settings(pipeline.id)
    for attempt in range(NUMBERING_ATTEMPTS):
        try:
            async with in_transaction():
                await Pipeline.select_for_update().get(id=pipeline.id)  # numbers are handed out one at a time
                last = await TestRun.filter(pipeline_id=pipeline.id).order_by("-number").first()
                run = await TestRun.create(
                    pipeline_id=pipeline.id,
                    number=(last.number if last else 0) + 1,
                    commit_sha=commit.sha,
                    commit_branch=commit.branch[:255],
                    commit_message=(commit.message or "")[:2000] or None,
                    actor_id=actor.id if actor else None,
                    actor_login=actor_login,
                    source_app_id=source_app.id if source_app else None,
                    source_id=source.id if source else None,
                    repository=repository,
                )
                node = await TestNode.create(test_run_id=run.id, index=0)
                superseded: list[TestRun] = []
                if ci is None or ci.cancel_superseded:
                    older = TestRun.filter(
                        pipeline_id=pipeline.id, commit_branch=run.commit_branch, status__in=UNFINISHED, id__lt=run.id
                    )
                    for old in await older:
                        if await cancel_locked(
                            old, f"superseded by #{run.number}, a newer push to {run.commit_branch}"
                        ):
                            superseded.append(await TestRun.get(id=old.id))
            jobs = [node_job(node.id), report_job(run)] + [report_job(old) for old in superseded]
            return run, superseded, jobs
        except IntegrityError:
            if attempt == NUMBERING_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def cancel_locked(run: TestRun, message: str) -> bool:
    """Cancel a run and its unfinished nodes, inside the caller's transaction; False when it had already ended. A
    worker running one of its nodes sees it within a second and kills the node's process group."""
    now = utcnow()
    cancelled = await TestRun.filter(id=run.id, status__in=UNFINISHED).update(
        status=TestRunStatus.CANCELLED, message=message, finished_at=now, updated_at=now
    )
    if cancelled:
        await TestNode.filter(test_run_id=run.id, status__in=UNFINISHED).update(
            status=TestRunStatus.CANCELLED, message=message, updated_at=now
        )
    return bool(cancelled)


async def cancel_test_run(run: TestRun, *, by: User) -> tuple[TestRun, list[Job]]:
    async with in_transaction():
        if not await cancel_locked(run, f"cancelled by {by.email}"):
            raise DomainError(
                ErrorCode.TEST_RUN_FINISHED, f"test run #{run.number} already ended ({run.status.value})", field="id"
            )
    run = await TestRun.get(id=run.id)
    return run, [report_job(run)]


async def announce(redis: Redis | None, run: TestRun) -> None:
    """Tell pages showing the run's pipeline that it changed (after the change committed)."""
    if redis is not None:
        await announce_news(redis, run.pipeline_id, NewsKind.TEST_RUN, run.id)


async def run_buildpacks(run: TestRun) -> list[str]:
    """The buildpacks of the app whose commit it is (empty: detect), when app.json names none."""
    return await app_buildpacks(run.source_app_id) if run.source_app_id else []
