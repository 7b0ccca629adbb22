"""A test node worked to its end in a worker: the CI app and the commit's tree (CREATING), the build and test-setup
(BUILDING), the tests (RUNNING), then the outcome, the node's output and the run's summary in one transaction.

A job may run twice (the reconciler takes over a dead worker's node): a node is claimed by one conditional UPDATE
that counts the attempt, and each step holds only while that attempt still has it. A cancelled node (by a person, or
superseded by a newer push) is noticed within a second: its work is cancelled, which kills its process group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from datetime import timedelta
from functools import partial
from pathlib import Path

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from pipegraph.apps.models import App, AppCollaborator
from pipegraph.builds.buildpacks import DEFAULT_BUILDPACKS, BuildpackFetcher
from pipegraph.builds.execution import _chunks, _readable_copies
from pipegraph.builds.fetch import fetch_source
from pipegraph.ci.appjson import AppJsonError, read_test_environment
from pipegraph.ci.commits import commit_source
from pipegraph.ci.log import TestLog
from pipegraph.ci.models import TERMINAL, UNFINISHED, TestNode, TestRun, TestRunStatus
from pipegraph.ci.runner import TestRequest, TestResult
from pipegraph.ci.service import announce, report_job, run_buildpacks, utcnow
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.db import database_unavailable
from pipegraph.jobs.cancellation import until_cancelled
from pipegraph.jobs.queue import Job, enqueue_all
from pipegraph.jobs.runtime import Runtime, test_lease_seconds
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
from pipegraph.pipelines.stage_config import stage_config_vars
from pipegraph.reviewapps.service import EphemeralKind, create_ephemeral_app, left_behind
from pipegraph.sandbox import Workspaces
from pipegraph.sources import service as sources
from pipegraph.sources.archive import extract_archive
from pipegraph.sources.models import Source
from pipegraph.sources.store import LocalSourceStore

logger = logging.getLogger(__name__)

TEST_WORKSPACES = Workspaces("pipegraph-test-")
PROGRESS = [TestRunStatus.PENDING, TestRunStatus.CREATING, TestRunStatus.BUILDING, TestRunStatus.RUNNING]


class LostClaim(Exception):
    """Another attempt took the node over (this worker was presumed dead): leave the outcome to it."""


async def claim(node_id: int, *, lease: float) -> TestNode | None:
    now = utcnow()
    claimed = await TestNode.filter(id=node_id, status=TestRunStatus.PENDING).update(
        status=TestRunStatus.CREATING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + timedelta(seconds=lease),
        updated_at=now,
    )
    return await TestNode.get(id=node_id) if claimed else None


def summary(nodes: list[TestNode]) -> TestRunStatus:
    """A run's status from its nodes': the furthest one still going, else the worst outcome."""
    going = [node.status for node in nodes if node.status not in TERMINAL]
    if going:
        return max(going, key=PROGRESS.index)
    ended = {node.status for node in nodes}
    for outcome in (TestRunStatus.ERRORED, TestRunStatus.CANCELLED, TestRunStatus.FAILED):
        if outcome in ended:
            return outcome
    return TestRunStatus.SUCCEEDED


async def summarize(run_id: int) -> TestRun | None:
    """Bring the run's status in line with its nodes'; the run when it changed. A cancelled run stays cancelled."""
    nodes = await TestNode.filter(test_run_id=run_id).order_by("index")
    status = summary(nodes)
    now = utcnow()
    values: dict[str, object] = {"status": status, "updated_at": now}
    if status.terminal:
        values["finished_at"] = now
        values["message"] = next((node.message for node in nodes if node.status == status and node.message), None)
    changed = await TestRun.filter(id=run_id, status__in=UNFINISHED).exclude(status=status).update(**values)
    if not changed:
        return None
    await (
        TestRun.filter(id=run_id, started_at__isnull=True).exclude(status=TestRunStatus.PENDING).update(started_at=now)
    )
    return await TestRun.get(id=run_id)


async def _told(runtime: Runtime, run: TestRun | None) -> list[Job]:
    """Pages showing the pipeline hear of the change; the reporter (GitHub's commit status) is told by a job."""
    if run is None:
        return []
    await announce(runtime.redis, run)
    return [report_job(run)]


async def run_test_node(node_id: int, runtime: Runtime) -> tuple[TestNode | None, list[Job]]:
    """The node as it ended, and the jobs to enqueue next (reports of the run's changes)."""
    node = await claim(node_id, lease=test_lease_seconds(runtime.settings))
    if node is None:
        return await TestNode.get_or_none(id=node_id), []
    jobs = await _told(runtime, await summarize(node.test_run_id))
    run = await TestRun.get(id=node.test_run_id)
    log = TestLog(runtime.redis, node.id)
    if node.attempts > 1:
        await log.line(f"-----> Running again (attempt {node.attempts}): the previous worker stopped")
    try:
        with TEST_WORKSPACES.new() as workdir:
            result = await until_cancelled(
                _work(node, run, runtime, log, workdir), partial(_cancelled, node.id), what=f"test node {node.id}"
            )
    except LostClaim:
        return await TestNode.get(id=node.id), jobs
    except (DomainError, AppJsonError) as error:
        message = error.message if isinstance(error, DomainError) else str(error)
        await log.line(f" !     {message}")
        result = TestResult(TestRunStatus.ERRORED, message=message)
    except Exception as error:
        if database_unavailable(error):
            raise  # nothing can be recorded now: the reconciler reruns the node once the lease passed
        # A crash of ours (a full disk, a tool missing) ends the run now, rather than at the end of its lease.
        logger.exception("test node %s crashed", node.id)
        message = f"the test run could not go on: {type(error).__name__}: {error}"
        await log.line(f" !     {message}")
        result = TestResult(TestRunStatus.ERRORED, message=message)
    return await _finish(node, run, result, runtime, log, jobs)


async def _cancelled(node_id: int) -> bool:
    return await TestNode.filter(id=node_id, status=TestRunStatus.CANCELLED).exists()


async def _advance(node: TestNode, status: TestRunStatus) -> TestRun | None:
    moved = await TestNode.filter(id=node.id, attempts=node.attempts, status__in=UNFINISHED).update(
        status=status, updated_at=utcnow()
    )
    if not moved:
        current = await TestNode.get(id=node.id)
        if current.status == TestRunStatus.CANCELLED:
            raise asyncio.CancelledError()  # as the watcher would, a moment sooner
        raise LostClaim()
    return await summarize(node.test_run_id)


async def _work(node: TestNode, run: TestRun, runtime: Runtime, log: TestLog, workdir: Path) -> TestResult:
    settings = runtime.settings
    source_app = await App.get_or_none(id=run.source_app_id) if run.source_app_id else None
    pipeline = await Pipeline.get(id=run.pipeline_id)
    await log.line(f"-----> Test run #{run.number} of {run.commit_branch}:{run.commit_sha[:7]}")
    await _ensure_ci_app(run, pipeline, settings.default_stack, settings.redis_url)
    tarball = await _tree(run, source_app, runtime, workdir)
    root = await asyncio.to_thread(
        extract_archive, tarball, workdir / "source", what="commit's tree", max_bytes=settings.source_max_bytes
    )
    workspace = workdir / "workspace"
    workspace.mkdir()
    await asyncio.to_thread(os.rename, root, workspace / "build")
    (workspace / "cache").mkdir()
    environment = read_test_environment(workspace / "build")
    references = environment.buildpacks or await run_buildpacks(run)
    fetcher = BuildpackFetcher(
        settings.build_cache_dir, max_bytes=settings.source_max_bytes, timeout=settings.fetch_timeout
    )
    resolved = [await fetcher.resolve(reference) for reference in references or DEFAULT_BUILDPACKS]
    buildpacks = tuple(await asyncio.to_thread(_readable_copies, resolved, workdir / "buildpacks"))
    facts = {
        "CI": "true",
        "CI_NODE_TOTAL": str(run.node_count),
        "CI_NODE_INDEX": str(node.index),
        "HEROKU_TEST_RUN_ID": str(run.id),
        "HEROKU_TEST_RUN_NUMBER": str(run.number),
        "HEROKU_TEST_RUN_BRANCH": run.commit_branch,
        "HEROKU_TEST_RUN_COMMIT_VERSION": run.commit_sha,
    }
    facts.update(
        {f"PIPEGRAPH_{key.removeprefix('HEROKU_')}": value for key, value in facts.items() if "TEST_RUN" in key}
    )
    env = {**environment.env, **await stage_config_vars(run.pipeline_id, Stage.TEST), **facts}
    request = TestRequest(
        workspace=workspace,
        buildpacks=buildpacks,
        explicit=bool(references),
        env=env,
        stack=source_app.stack if source_app else settings.default_stack,
        commit=run.commit_sha,
        setup=environment.setup,
        test=environment.test,
        timeout=settings.test_run_timeout,
    )

    async def on_phase(status: TestRunStatus) -> None:
        await enqueue_all(runtime.redis, await _told(runtime, await _advance(node, status)))

    return await runtime.test_runner.run(request, log.line, on_phase)


async def _ensure_ci_app(run: TestRun, pipeline: Pipeline, default_stack: str, redis_url: str | None) -> None:
    """The run's CI app: an ephemeral app in the TEST stage, with the pipeline's access as it is now."""
    if run.app_id is not None:
        return
    name = f"{pipeline.name[:17].rstrip('-')}-ci-{run.number}"
    try:
        app = await left_behind(
            pipeline.id, name, EphemeralKind.CI, held=lambda app_id: TestRun.exists(app_id=app_id)
        ) or await create_ephemeral_app(
            pipeline, name=name, kind=EphemeralKind.CI, default_stack=default_stack, redis_url=redis_url
        )
    except DomainError:  # the name is taken by some other app
        name = f"ci-{run.id}-{secrets.token_hex(3)}"
        app = await create_ephemeral_app(
            pipeline, name=name, kind=EphemeralKind.CI, default_stack=default_stack, redis_url=redis_url
        )
    await TestRun.filter(id=run.id).update(app_id=app.id, app_name=app.name)
    run.app_id, run.app_name = app.id, app.name


async def _tree(run: TestRun, source_app: App | None, runtime: Runtime, workdir: Path) -> Path:
    """The commit's tree as a tarball: stored once (a push stored it already), fetched from its commit source else
    (the pipeline's GitHub repository, or the app's own)."""
    settings = runtime.settings
    store = LocalSourceStore(settings.source_dir)
    if run.source_id is None:
        owner = source_app or (await App.get_or_none(id=run.app_id) if run.app_id else None)
        if owner is None:
            raise DomainError(ErrorCode.INVALID_SOURCE, f"the repository of commit {run.commit_sha[:8]} is gone")
        source_of = commit_source(settings, repository=run.repository, app=source_app or owner)
        try:
            archive = await source_of.archive(run.commit_sha, workdir)
        except LookupError as error:
            raise DomainError(ErrorCode.INVALID_SOURCE, str(error)) from None
        digest, size = await store.put(_chunks(archive), max_bytes=settings.source_max_bytes)
        source = await sources.record_source(app=owner, user=None, digest=digest, size=size)
        await TestRun.filter(id=run.id).update(source_id=source.id)
        run.source_id = source.id
    source_url = sources.get_url(settings, await Source.get(id=run.source_id))
    return await fetch_source(settings=settings, store=store, url=source_url, checksum=None, into=workdir)


async def _finish(
    node: TestNode, run: TestRun, result: TestResult | None, runtime: Runtime, log: TestLog, jobs: list[Job]
) -> tuple[TestNode, list[Job]]:
    """The node's outcome and output, the run's summary, then the CI app goes (its run ended)."""
    now = utcnow()
    async with in_transaction():
        if result is not None:
            await TestNode.filter(id=node.id, attempts=node.attempts, status__in=UNFINISHED).update(
                status=result.status, exit_code=result.exit_code, message=result.message, updated_at=now
            )
        # Its output is kept whatever ended it (a cancelled node's too), unless a newer attempt has the node.
        await TestNode.filter(id=node.id, attempts=node.attempts).update(
            output=log.text, lease_expires_at=None, updated_at=now
        )
        changed = await summarize(run.id)
    ended = await TestNode.get(id=node.id)
    await log.end(ended.status)
    jobs = jobs + await _told(runtime, changed)
    finished = await TestRun.get(id=run.id)
    if finished.status.terminal:
        await remove_ci_app(finished)
    return ended, jobs


async def remove_ci_app(run: TestRun) -> None:
    """A CI app lives as long as its run: it goes once the run ended (its name stays on the run)."""
    if run.app_id is None:
        return
    app_id = run.app_id
    async with in_transaction():
        await TestRun.filter(id=run.id).update(app_id=None)
        await AppCollaborator.filter(app_id=app_id).delete()
        await PipelineCoupling.filter(app_id=app_id).delete()
        await App.filter(id=app_id, ephemeral=True).delete()
