"""The job functions, thin: a row id in, a service call, a short result for arq's log.

A new kind of job: declare its `JobKind` next to the service that enqueues it, and bind a function to it here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from arq import Retry

from pipegraph.builds.execution import run_build
from pipegraph.builds.service import RUN_BUILD
from pipegraph.jobs.queue import enqueue_all
from pipegraph.promotions.execution import process_target
from pipegraph.promotions.service import PROMOTE_TARGET
from pipegraph.releases.execution import EarlierReleasePending, run_release
from pipegraph.releases.service import RUN_RELEASE
from workers.registry import JobContext, job

# Waiting on an earlier release of the same app: try again a little later instead of holding a job slot.
EARLIER_RELEASE_RETRY_SECONDS = 5


@contextlib.contextmanager
def _later_while_an_earlier_release_is_pending() -> Iterator[None]:
    try:
        yield
    except EarlierReleasePending:
        raise Retry(defer=EARLIER_RELEASE_RETRY_SECONDS) from None


@job(PROMOTE_TARGET)
async def promote_target(ctx: JobContext, target_id: int) -> str:
    with _later_while_an_earlier_release_is_pending():
        target = await process_target(target_id, ctx.runtime)
    return f"target {target_id}: {target.status.value if target else 'held by another worker or done'}"


@job(RUN_RELEASE)
async def run_release_job(ctx: JobContext, release_id: int) -> str:
    with _later_while_an_earlier_release_is_pending():
        release = await run_release(release_id, ctx.runtime)
    return f"release {release_id}: {release.status.value if release else 'gone'}"


# A build is retried by the reconciler (a fresh, counted attempt), never blindly by arq.
@job(RUN_BUILD, max_tries=1)
async def run_build_job(ctx: JobContext, build_id: int) -> str:
    build, then = await run_build(build_id, ctx.runtime)
    await enqueue_all(ctx.redis, then)
    return f"build {build_id}: {build.status.value if build else 'gone'}"
