"""Test nodes whose worker died: run once more from the start, then ERRORED; never left going for ever.

A lost enqueue (Redis away when the run was created) leaves a node PENDING: it is enqueued again as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis

from pipegraph.ci.execution import remove_ci_app, summarize
from pipegraph.ci.log import TestLog
from pipegraph.ci.models import TestNode, TestRun, TestRunStatus
from pipegraph.ci.service import announce, node_job, report_job
from pipegraph.jobs.queue import Job, enqueue_all

MAX_ATTEMPTS = 2
PENDING_GRACE = timedelta(seconds=10)
GOING = [TestRunStatus.CREATING, TestRunStatus.BUILDING, TestRunStatus.RUNNING]


async def _give_up(redis: ArqRedis, node: TestNode, now: datetime) -> list[Job]:
    message = f"the test run's worker stopped during each of {node.attempts} attempts: giving up"
    gave_up = await TestNode.filter(id=node.id, status__in=GOING, lease_expires_at__lt=now).update(
        status=TestRunStatus.ERRORED, message=message, lease_expires_at=None, updated_at=now
    )
    if not gave_up:
        return []
    log = TestLog(redis, node.id)
    await log.line(f" !     {message}")
    await TestNode.filter(id=node.id).update(output=f"{node.output}\n{log.text}" if node.output else log.text)
    await log.end(TestRunStatus.ERRORED)
    changed = await summarize(node.test_run_id)
    if changed is None:
        return []
    await announce(redis, changed)
    if changed.status.terminal:
        await remove_ci_app(changed)
    return [report_job(changed)]


async def reconcile_test_runs(redis: ArqRedis, *, now: datetime) -> int:
    """Enqueue every lost node again (or error it past its attempts); returns how many jobs were enqueued."""
    jobs: list[Job] = []
    for node in await TestNode.filter(status=TestRunStatus.PENDING, created_at__lt=now - PENDING_GRACE):
        jobs.append(node_job(node.id, retry=node.attempts))
    for node in await TestNode.filter(status__in=GOING, lease_expires_at__lt=now):
        if node.attempts >= MAX_ATTEMPTS:
            jobs += await _give_up(redis, node, now)
            continue
        # Conditional: of two reconcilers, one hands it back.
        taken = await TestNode.filter(id=node.id, status__in=GOING, lease_expires_at__lt=now).update(
            status=TestRunStatus.PENDING, lease_expires_at=None, updated_at=now
        )
        if taken:
            jobs.append(node_job(node.id, retry=node.attempts))
    # A run whose nodes all ended but whose summary was not written (its worker died in between) is settled too.
    for run in await TestRun.filter(status__in=GOING, updated_at__lt=now - PENDING_GRACE):
        changed = await summarize(run.id)
        if changed is not None and changed.status.terminal:
            await announce(redis, changed)
            await remove_ci_app(changed)
            jobs.append(report_job(changed))
    await enqueue_all(redis, jobs)
    return len(jobs)
