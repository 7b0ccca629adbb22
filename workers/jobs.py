"""The job functions, thin: a row id in, a service call, a short result for arq's log.

A new kind of job: declare its `JobKind` next to the service that enqueues it, and bind a function to it here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from arq import Retry

from pipegraph.builds.execution import run_build
from pipegraph.builds.models import Build
from pipegraph.builds.service import RUN_BUILD
from pipegraph.ci import github as ci_on_github  # noqa: F401 - subscribes CI to GitHub pushes
from pipegraph.ci.execution import run_test_node
from pipegraph.ci.reporting import report_test_run
from pipegraph.ci.service import REPORT_TEST_RUN, RUN_TEST_NODE
from pipegraph.db import database_unavailable
from pipegraph.github import deploys
from pipegraph.github.client import GitHubUnavailable
from pipegraph.github.events import PROCESS_DELIVERY, process_delivery
from pipegraph.jobs.queue import Job, enqueue_all
from pipegraph.jobs.runtime import Runtime
from pipegraph.logs import log_context
from pipegraph.pipelines.models import PipelineCoupling
from pipegraph.promotions.batch import promote_batch
from pipegraph.promotions.execution import process_target, target_of_release
from pipegraph.promotions.models import PromotionTarget
from pipegraph.promotions.service import PROMOTE_TARGET, PROMOTE_TARGETS
from pipegraph.releases.execution import EarlierReleasePending, run_release
from pipegraph.releases.models import ReleaseStatus
from pipegraph.releases.service import RUN_RELEASE
from pipegraph.reviewapps import after_build, destroy, lifecycle
from pipegraph.reviewapps.jobs import DESTROY_REVIEW_APP, WORK_REVIEW_APP
from pipegraph.streams.pipeline import NewsKind, announce
from workers.registry import JobContext, job

# The database away for a moment (a restart, a failover, a network cut): try the job again this much later. Each
# step of a job is its own transaction and a job resumes where it stopped, so nothing is left half-written.
DATABASE_RETRY_SECONDS = 5


@contextlib.contextmanager
def _again_once_the_database_is_back() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        if database_unavailable(error):
            raise Retry(defer=DATABASE_RETRY_SECONDS) from error
        raise


@job(PROMOTE_TARGET)
async def promote_target(ctx: JobContext, target_id: int) -> str:
    with _again_once_the_database_is_back():
        # The promotion's id on every line of its targets' jobs: one promotion is followed through all of them.
        log_context(promotion_id=await PromotionTarget.get_or_none(id=target_id).values_list("promotion_id", flat=True))
        target = await process_target(target_id, ctx.runtime)
    return f"target {target_id}: {target.status.value if target else 'held by another worker, waiting, or done'}"


@job(PROMOTE_TARGETS)
async def promote_targets(ctx: JobContext, promotion_id: int) -> str:
    with _again_once_the_database_is_back():
        outcome, then = await promote_batch(promotion_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"promotion {promotion_id}: {outcome}"


@job(RUN_RELEASE)
async def run_release_job(ctx: JobContext, release_id: int) -> str:
    with _again_once_the_database_is_back():
        # A release whose turn came (releases/execution.py wakes it) may be a promotion's: its target runs it.
        target_id = await target_of_release(release_id)
        if target_id is not None:
            return await promote_target(ctx, target_id)
        try:
            release = await run_release(release_id, ctx.runtime)
        except EarlierReleasePending:
            return f"release {release_id}: waits for an earlier release of its app, whose end wakes it"
        if release is not None and release.status != ReleaseStatus.PENDING:
            build = await Build.get_or_none(release_id=release.id)
            if build is not None:
                await enqueue_all(ctx.redis, await _build_ended(build, ctx.runtime))
    return f"release {release_id}: {release.status.value if release else 'gone'}"


# A build is retried by the reconciler (a fresh, counted attempt), never blindly by arq.
@job(RUN_BUILD, max_tries=1)
async def run_build_job(ctx: JobContext, build_id: int) -> str:
    build, then = await run_build(build_id, ctx.runtime)
    if build is not None:
        then = then + await _build_ended(build, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"build {build_id}: {build.status.value if build else 'gone'}"


# A test node, like a build, is retried by the reconciler (a fresh, counted attempt), never blindly by arq.
@job(RUN_TEST_NODE, max_tries=1)
async def run_test_node_job(ctx: JobContext, node_id: int) -> str:
    node, then = await run_test_node(node_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"test node {node_id}: {node.status.value if node else 'gone'}"


REPORT_RETRY_SECONDS = 15


@job(REPORT_TEST_RUN)
async def report_test_run_job(ctx: JobContext, run_id: int) -> str:
    with _again_once_the_database_is_back():
        try:
            posted, then = await report_test_run(run_id, ctx.runtime.settings)
        except GitHubUnavailable as error:
            raise Retry(defer=REPORT_RETRY_SECONDS) from error  # GitHub away for a moment: tell it again later
    await enqueue_all(ctx.redis, then)
    return f"test run {run_id}: {posted}"


async def _build_ended(build: Build, runtime: Runtime) -> list[Job]:
    """A build, or the release phase of its release, ended: deploys and review apps it was for move on, and pages
    showing its pipeline hear of it."""
    coupling = await PipelineCoupling.get_or_none(app_id=build.app_id)
    await announce(runtime.redis, coupling.pipeline_id if coupling else None, NewsKind.BUILD, build.id)
    await deploys.after_build(build.id, runtime)
    return await after_build.after_build(build.id, runtime)


@job(PROCESS_DELIVERY)
async def process_github_delivery(ctx: JobContext, delivery_id: int) -> str:
    with _again_once_the_database_is_back():
        delivery, then = await process_delivery(delivery_id, ctx.runtime.settings)
    await enqueue_all(ctx.redis, then)
    return f"delivery {delivery_id}: {delivery.outcome.value if delivery else 'gone'}"


@job(deploys.ADVANCE_DEPLOY)
async def advance_github_deploy(ctx: JobContext, deploy_id: int) -> str:
    with _again_once_the_database_is_back():
        then = await deploys.advance_deploy(deploy_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"deploy {deploy_id}: {len(then)} job(s) next"


@job(WORK_REVIEW_APP, max_tries=1)
async def work_review_app(ctx: JobContext, review_app_id: int) -> str:
    then = await lifecycle.work_review_app(review_app_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"review app {review_app_id}: {len(then)} job(s) next"


@job(DESTROY_REVIEW_APP)
async def destroy_review_app(ctx: JobContext, review_app_id: int) -> str:
    with _again_once_the_database_is_back():
        await destroy.destroy_review_app(review_app_id, ctx.runtime)
    return f"review app {review_app_id}: destroyed"
