"""The job functions, thin: a row id in, a service call, a short result for arq's log.

A new kind of job: declare its `JobKind` next to the service that enqueues it, and bind a function to it here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from arq import Retry

from pipegraph.builds.execution import run_build
from pipegraph.builds.service import RUN_BUILD
from pipegraph.ci.execution import run_test_node
from pipegraph.ci.reporting import report_test_run
from pipegraph.ci.service import REPORT_TEST_RUN, RUN_TEST_NODE
from pipegraph.db import database_unavailable
from pipegraph.jobs.queue import enqueue_all
from pipegraph.logs import log_context
from pipegraph.promotions.execution import process_target, target_of_release
from pipegraph.promotions.models import PromotionTarget
from pipegraph.promotions.service import PROMOTE_TARGET
from pipegraph.releases.execution import EarlierReleasePending, run_release
from pipegraph.releases.service import RUN_RELEASE
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
    return f"release {release_id}: {release.status.value if release else 'gone'}"


# A build is retried by the reconciler (a fresh, counted attempt), never blindly by arq.
@job(RUN_BUILD, max_tries=1)
async def run_build_job(ctx: JobContext, build_id: int) -> str:
    build, then = await run_build(build_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"build {build_id}: {build.status.value if build else 'gone'}"


# A test node, like a build, is retried by the reconciler (a fresh, counted attempt), never blindly by arq.
@job(RUN_TEST_NODE, max_tries=1)
async def run_test_node_job(ctx: JobContext, node_id: int) -> str:
    node, then = await run_test_node(node_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"test node {node_id}: {node.status.value if node else 'gone'}"


@job(REPORT_TEST_RUN)
async def report_test_run_job(ctx: JobContext, run_id: int) -> str:
    with _again_once_the_database_is_back():
        return f"test run {run_id}: {await report_test_run(run_id, ctx.runtime.settings)}"
