"""A worker SIGKILLed mid-test: the reconciler reruns the node once, or errors it; a lost enqueue is found again. A
test run is never left going for ever."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

from workers.runner import in_process_worker

from pipegraph.apps.models import App
from pipegraph.ci.commits import Commit
from pipegraph.ci.execution import utcnow
from pipegraph.ci.models import TestNode, TestRun, TestRunStatus
from pipegraph.ci.reconciler import reconcile_test_runs
from pipegraph.ci.service import set_ci, start_test_run
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.stage_config import set_stage_config_vars
from pipegraph.reviewapps.service import EphemeralKind, create_ephemeral_app
from pipegraph.settings import Settings
from pipegraph.sources.models import Source
from tests.support.build_scene import source_tarball, stored_source
from tests.support.ci_scene import run_reaches, shop_tree
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, create_pipeline
from tests.support.processes import gone, processes_running
from tests.support.sandbox import SANDBOX_MODE
from tests.support.servers import until, worker_process
from tests.test_promotion_recovery import _arq_pool

LATER = timedelta(hours=2)  # the reconciler's "now", past every lease


async def _run_of_a_stored_tree(gql: GraphQLClient, settings: Settings) -> TestRun:
    """A PENDING run of a tree stored as a push stores it, its job not enqueued (as when Redis was away)."""
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging", stage="STAGING")
    pipeline = await Pipeline.get(name="shop")
    await set_ci(pipeline, enabled=True)
    # The tests sleep for as long as the TEST config var says: long on the first attempt, not on the second.
    app = await App.get(name="shop-staging")
    url = await stored_source(
        settings, app_id=app.id, data=source_tarball(shop_tree(test_body="echo attempt; sleep $NAP"))
    )
    source = await Source.get(id=int(url.split("/sources/")[1].split("/")[0]))
    run, _, _ = await start_test_run(
        pipeline=pipeline, commit=Commit("a" * 40, "main", "Add checkout"), source_app=app, source=source, actor=None
    )
    return run


async def test_a_worker_killed_mid_test_is_rerun_by_the_reconciler(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    # given a run whose tests hang on their first attempt
    run = await _run_of_a_stored_tree(gql, settings)
    marker = f"{600 + os.getpid() % 1000 / 1000:.3f}"
    await set_stage_config_vars(await Pipeline.get(id=run.pipeline_id), "TEST", {"NAP": marker})
    pool = await _arq_pool(settings)
    try:
        # the lost enqueue is found by the reconciler
        assert await reconcile_test_runs(pool, now=utcnow() + LATER) == 1

        # when a separate worker process is SIGKILLed while the tests run
        worker = worker_process(settings, tmp_path / "worker.log")
        try:
            await until(lambda: _running(marker), "the tests running in the worker process")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        node = await TestNode.get(test_run_id=run.id)
        assert node.status == TestRunStatus.RUNNING
        # then nothing of the run goes on running (in the sandbox: unsandboxed, what the shell started outlives it)
        if SANDBOX_MODE == "bubblewrap":
            assert await gone(marker)
        else:
            for pid in processes_running(marker):
                os.kill(pid, signal.SIGKILL)

        # and once the reconciler runs past the lease, a fresh worker runs it again from the start
        await set_stage_config_vars(await Pipeline.get(id=run.pipeline_id), "TEST", {"NAP": "0"})
        assert await reconcile_test_runs(pool, now=utcnow() + LATER) == 1
    finally:
        await pool.aclose()
    async with in_process_worker(settings):
        finished = await run_reaches(1)

    node = await TestNode.get(test_run_id=run.id)
    assert (finished.status, node.attempts) == (TestRunStatus.SUCCEEDED, 2)
    assert "-----> Running again (attempt 2): the previous worker stopped" in node.output.splitlines()
    assert not await App.filter(ephemeral=True).exists()  # its CI app went with the run


async def test_a_node_lost_on_its_last_attempt_errors_saying_why(gql: GraphQLClient, settings: Settings) -> None:
    # given a node whose second attempt's worker died too
    run = await _run_of_a_stored_tree(gql, settings)
    await TestNode.filter(test_run_id=run.id).update(
        status=TestRunStatus.RUNNING, attempts=2, lease_expires_at=utcnow(), output="attempt"
    )
    await TestRun.filter(id=run.id).update(status=TestRunStatus.RUNNING)

    pool = await _arq_pool(settings)
    try:
        await reconcile_test_runs(pool, now=utcnow() + LATER)
    finally:
        await pool.aclose()

    run = await TestRun.get(id=run.id)
    node = await TestNode.get(test_run_id=run.id)
    message = "the test run's worker stopped during each of 2 attempts: giving up"
    assert (run.status, run.message, node.status) == (TestRunStatus.ERRORED, message, TestRunStatus.ERRORED)
    assert run.finished_at is not None
    assert node.output.splitlines() == ["attempt", f" !     {message}"]


async def _running(argument: str) -> bool:
    return bool(processes_running(argument))


async def test_a_ci_app_made_by_a_job_that_died_before_recording_it_is_the_one_the_run_uses(
    gql: GraphQLClient, settings: Settings
) -> None:
    run = await _run_of_a_stored_tree(gql, settings)
    pipeline = await Pipeline.get(id=run.pipeline_id)
    await set_stage_config_vars(pipeline, "TEST", {"NAP": "0"})

    # given the CI app a job made for the run, its worker dead before it recorded the app on the run
    left = await create_ephemeral_app(
        pipeline, name="shop-ci-1", kind=EphemeralKind.CI, default_stack=settings.default_stack
    )

    # when the reconciler finds the run's job lost, and a worker runs it
    pool = await _arq_pool(settings)
    try:
        assert await reconcile_test_runs(pool, now=utcnow() + LATER) == 1
    finally:
        await pool.aclose()
    async with in_process_worker(settings):
        finished = await run_reaches(1)

    # then the run was tested on that app (no other was made beside it), which went with the run
    assert (finished.status, finished.app_name) == (TestRunStatus.SUCCEEDED, "shop-ci-1")
    await until(lambda: _no_ephemeral_app(), "the CI app removed once its run ended", seconds=30)
    assert not await App.exists(id=left.id)


async def _no_ephemeral_app() -> bool:
    return not await App.filter(ephemeral=True).exists()
