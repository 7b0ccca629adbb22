"""Cron jobs: the reconciler (its rules are promotions/recovery.py) and the sweeper of abandoned uploads."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from pipegraph.builds.reconciler import reconcile_builds
from pipegraph.ci.reconciler import reconcile_test_runs
from pipegraph.github.deploys import overdue_deploys
from pipegraph.jobs.queue import enqueue_all
from pipegraph.pipelines.stage_config import delete_empty_pipelines
from pipegraph.promotions.recovery import reconcile
from pipegraph.reviewapps.destroy import reap_stale_review_apps
from pipegraph.reviewapps.lifecycle import overdue_review_apps
from pipegraph.reviewapps.recovery import reconcile_review_apps
from workers.registry import JobContext, every

INCOMING_MAX_AGE = 24 * 3600


# Every 15 s: a lost target waits at most that long past its lease; arq runs one at a time (unique cron job id).
@every(second={0, 15, 30, 45}, run_at_startup=True, timeout=60)
async def reconcile_lost_jobs(ctx: JobContext) -> int:
    return await reconcile(ctx.redis)


# Between the promotion reconciler's runs: a build left BUILDING by a dead worker is retried, or failed.
@every(second={5, 20, 35, 50}, run_at_startup=True, timeout=60)
async def reconcile_lost_builds(ctx: JobContext) -> int:
    return await reconcile_builds(ctx.redis, now=datetime.now(UTC))


# And test nodes: rerun once, or ERRORED; a run is never left going for ever.
@every(second={10, 25, 40, 55}, run_at_startup=True, timeout=60)
async def reconcile_lost_test_runs(ctx: JobContext) -> int:
    return await reconcile_test_runs(ctx.redis, now=datetime.now(UTC))


# A review app left DELETING (its build's worker died, or the build ended unseen) is destroyed after all; one whose
# newest commit no job looked at (its push refused while the job before still held the job id) is worked on.
@every(second={12, 42}, run_at_startup=True, timeout=60)
async def reconcile_lost_review_apps(ctx: JobContext) -> int:
    jobs = await reconcile_review_apps(datetime.now(UTC))
    await enqueue_all(ctx.redis, jobs)
    return len(jobs)


# Review apps with no deploy for their pipeline's staleDays go (Heroku's destroy_stale_apps).
@every(minute={7, 37}, run_at_startup=False)
async def reap_stale_apps(ctx: JobContext) -> int:
    jobs = await reap_stale_review_apps(datetime.now(UTC))
    await enqueue_all(ctx.redis, jobs)
    return len(jobs)


# Deploys and review apps waiting for CI past their deadline look again: given up when no CI reported
# (PIPEGRAPH_WAIT_FOR_CI_TIMEOUT).
@every(second={3, 33}, run_at_startup=True, timeout=60)
async def recheck_overdue_deploys(ctx: JobContext) -> int:
    now = datetime.now(UTC)
    jobs = await overdue_deploys(now) + await overdue_review_apps(now)
    await enqueue_all(ctx.redis, jobs)
    return len(jobs)


# Pipelines left empty past their grace period (PIPEGRAPH_EMPTY_PIPELINE_GRACE).
@every(second={10, 40}, run_at_startup=True, timeout=60)
async def delete_empty(ctx: JobContext) -> int:
    return await delete_empty_pipelines(datetime.now(UTC))


@every(minute=17, run_at_startup=False)
async def sweep_incoming_uploads(ctx: JobContext) -> int:
    """Remove partial uploads left by a crashed API process (complete ones were renamed into place)."""
    return await asyncio.to_thread(
        sweep_parts, ctx.runtime.settings.slug_dir / "incoming", time.time() - INCOMING_MAX_AGE
    )


def sweep_parts(incoming: Path, cutoff: float) -> int:
    removed = 0
    if incoming.exists():
        for part in incoming.glob("*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
    return removed
