"""A review app is never left DELETING: when the worker at its cancelled build dies, the build's end never wakes the
destruction, and the reconciler gives it its destroy job again (a real worker process SIGKILLed mid-build). Nor on an
older commit than its pull request's: a push whose job the queue refused is handed to a job by the reconciler."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from arq.constants import job_key_prefix
from redis.asyncio import Redis
from workers.runner import in_process_worker

from pipegraph.apps.models import App
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.jobs.queue import JobQueue
from pipegraph.pipelines.models import Pipeline
from pipegraph.reviewapps.jobs import work_job
from pipegraph.reviewapps.models import ReviewApp, ReviewAppStatus
from pipegraph.reviewapps.recovery import reconcile_review_apps
from pipegraph.reviewapps.service import EphemeralKind, create_ephemeral_app
from tests.support.github_scene import APP_FILES, GitHubScene, pull_request_payload
from tests.support.processes import gone, processes_running
from tests.support.sandbox import SANDBOX_MODE
from tests.support.servers import until, worker_process
from tests.test_review_apps import CREATE_REVIEW_APP, _needing_a_config_var_then_not, _slow_buildpack

LATER = timedelta(hours=2)  # the reconciler's "now", past every lease and grace period


async def _review_app() -> ReviewApp:
    return await ReviewApp.get(pr_number=4)


async def test_a_review_app_whose_cancelled_builds_worker_died_is_destroyed_by_the_reconciler(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    settings = scene.jobs.settings
    marker = f"{4000 + os.getpid() % 1000 / 1000:.3f}"  # an argument no other process on the host has
    pack = _slow_buildpack(tmp_path / "slow-buildpack")
    (pack / "bin" / "compile").write_text(f'#!/bin/sh\necho "-----> Compiling slowly"\nexec sleep {marker}\n')
    await scene.setup(files={**APP_FILES, "app.json": json.dumps({"buildpacks": [{"url": str(pack)}]})})
    await scene.enable_review_apps(automatic=True, baseName="shop")
    sha = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("opened", 4, sha=sha, branch="checkout"))

    # given its review app building in a separate worker process, which is SIGKILLed mid-compile
    worker = worker_process(
        settings,
        tmp_path / "worker.log",
        PIPEGRAPH_GITHUB_API_URL=settings.github.api_url,
        PIPEGRAPH_GITHUB_TOKEN=settings.github.token,
    )
    try:
        await until(lambda: _running(marker), "the slow buildpack compiling in the worker process", seconds=90)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    if SANDBOX_MODE == "bubblewrap":
        assert await gone(marker)  # the sandbox died with the worker
    else:
        for pid in processes_running(marker):  # unsandboxed, what the shell started outlives it
            os.kill(pid, signal.SIGKILL)
    row = await _review_app()
    app_id = row.app_id
    assert app_id is not None
    [build] = await Build.filter(app_id=app_id)
    assert build.status == BuildStatus.BUILDING

    # when its pull request closes: the destruction cancels the build, and waits for the build's end, which the
    # dead worker never reaches (the state a worker dying between the cancel and the build's end leaves as well)
    await scene.deliver("pull_request", pull_request_payload("closed", 4, sha=sha, branch="checkout"))
    # (not a burst worker: the dead worker's build job stays queued, held "in progress", until arq's own timeout)
    async with in_process_worker(settings):

        async def cancelled() -> bool:
            row = await _review_app()
            return row.message == "pull request closed; its build was cancelled"

        await until(cancelled, "the destruction cancelled the build and waits for its end")
        await build.refresh_from_db()
        assert build.status == BuildStatus.FAILED
        assert (await _review_app()).status == ReviewAppStatus.DELETING
        assert await App.exists(id=app_id)
        # a destruction still within its grace period is left to its own steps
        assert await reconcile_review_apps(datetime.now(UTC)) == []

        # and the reconciler runs past the build's lease and the grace period, twice (two crons at once)
        jobs = await reconcile_review_apps(datetime.now(UTC) + LATER)
        assert [job.job_id for job in jobs] == [f"review-app-destroy:{row.id}"]
        queue = JobQueue(settings.redis_url)
        await queue.enqueue(jobs)
        await queue.enqueue(await reconcile_review_apps(datetime.now(UTC) + LATER))

        async def destroyed() -> bool:
            return (await _review_app()).status == ReviewAppStatus.DELETED

        await until(destroyed, "the review app destroyed after all")

    # then the review app is destroyed, saying why, and nothing of its app is left
    row = await _review_app()
    assert (row.status, row.app_id) == (ReviewAppStatus.DELETED, None)
    assert row.message == "destroyed: pull request closed; its build was cancelled"
    assert not await App.exists(id=app_id)
    assert not await Build.exists(app_id=app_id)
    assert not (settings.build_cache_dir / "apps" / str(app_id)).exists()
    # and nothing is left for the reconciler
    assert await reconcile_review_apps(datetime.now(UTC) + LATER) == []


async def _running(argument: str) -> bool:
    return bool(processes_running(argument))


async def test_a_review_app_closed_before_it_recorded_its_build_is_destroyed_and_the_build_never_runs(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    await scene.setup()
    await scene.enable_review_apps(automatic=True, baseName="shop")
    sha = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("opened", 4, sha=sha, branch="checkout"))
    await scene.jobs.drain()
    row = await _review_app()
    assert row.status == ReviewAppStatus.CREATED, row.message

    # given the state a pull request closed while a build was being made for it leaves: the review app DELETING, a
    # new build of its app that the review app never recorded, and the destroy job long since done
    await ReviewApp.filter(id=row.id).update(
        status=ReviewAppStatus.DELETING, message="pull request closed", updated_at=datetime.now(UTC) - LATER
    )
    unseen = await Build.create(app_id=row.app_id, source_url="https://example.com/x.tgz")

    # when the reconciler runs
    await JobQueue(scene.jobs.settings.redis_url).enqueue(await reconcile_review_apps(datetime.now(UTC)))
    await scene.jobs.drain()

    # then the destroy looked at the app's builds afresh: the unseen one cancelled, the app gone
    row = await _review_app()
    assert (row.status, row.message) == (
        ReviewAppStatus.DELETED,
        "destroyed: pull request closed; its build was cancelled",
    )
    assert not await Build.exists(id=unseen.id)
    assert not await App.filter(name="shop-pr-4").exists()


async def test_a_push_refused_while_the_job_before_still_held_its_id_is_built_by_the_reconciler(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    row, first, second = await _errored_at_its_first_commit(scene, 12)
    # (a commit its job finished with, even errored, is not the reconciler's: it is not tried again and again)
    assert await reconcile_review_apps(datetime.now(UTC)) == []

    # given the review app's job id still held, as arq holds it after that job's last look at the wanted commit
    # until it lets go of the finished job (the job made no build, so no build's end will start it again)
    redis = Redis.from_url(scene.jobs.settings.redis_url)
    held = job_key_prefix + work_job(row.id).job_id
    try:
        await redis.set(held, b"the job before, finishing", px=600_000)

        # when the second commit is pushed then: its job is refused by the queue (and so is the reconciler's, a cron
        # the worker runs at its start)
        await scene.deliver("pull_request", pull_request_payload("synchronize", 12, sha=second, branch="checkout"))
        await scene.jobs.drain()
        row = await ReviewApp.get(pr_number=12)
        assert (row.status, row.head_sha, row.worked_sha) == (ReviewAppStatus.ERRORED, second, first)
    finally:
        await redis.delete(held)
        await redis.aclose()

    # then, the id let go, the reconciler hands the second commit to a job, which builds it
    jobs = await reconcile_review_apps(datetime.now(UTC))
    assert [job.job_id for job in jobs] == [work_job(row.id).job_id]
    await JobQueue(scene.jobs.settings.redis_url).enqueue(jobs)
    await scene.jobs.drain()
    [review] = await scene.review_apps()
    assert (review["headSha"], review["status"]) == (second, "CREATED"), review
    assert (await ReviewApp.get(pr_number=12)).worked_sha == second
    # and nothing is left for the reconciler
    assert await reconcile_review_apps(datetime.now(UTC)) == []


async def test_a_commit_claimed_by_a_job_that_died_before_making_its_build_is_built_by_the_reconciler(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    _, second = await _needing_a_config_var_then_not(scene)
    await scene.deliver("pull_request", pull_request_payload("opened", 13, sha=second, branch="checkout"))
    await scene.jobs.drain()
    row = await ReviewApp.get(pr_number=13)
    assert row.status == ReviewAppStatus.CREATED, row.message
    built = row.build_id

    # given the state a job leaves whose worker died right after it claimed a pushed commit, before it made its build
    third = await scene.commit({"feature.txt": "v3"}, branch="checkout")
    await ReviewApp.filter(id=row.id).update(
        head_sha=third, building_sha=third, build_id=None, status=ReviewAppStatus.CREATING, message="building"
    )

    # when the reconciler runs
    jobs = await reconcile_review_apps(datetime.now(UTC))
    assert [job.job_id for job in jobs] == [work_job(row.id).job_id]
    await JobQueue(scene.jobs.settings.redis_url).enqueue(jobs)
    await scene.jobs.drain()

    # then that commit is claimed again and built
    row = await ReviewApp.get(pr_number=13)
    assert (row.status, row.building_sha, row.worked_sha) == (ReviewAppStatus.CREATED, third, third), row.message
    assert row.build_id not in (None, built)
    assert (await Build.get(id=row.build_id)).status == BuildStatus.SUCCEEDED
    assert await reconcile_review_apps(datetime.now(UTC)) == []


async def test_an_app_made_by_a_job_that_died_before_recording_it_is_taken_on_by_the_next_job(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    row, _, second = await _errored_at_its_first_commit(scene, 14)

    # given the state a job leaves whose worker died right after it made the review app's app for a pushed commit,
    # before it recorded the app on the review app
    pipeline = await Pipeline.get(id=row.pipeline_id)
    orphan = await create_ephemeral_app(
        pipeline, name=row.app_name, kind=EphemeralKind.REVIEW, default_stack=scene.jobs.settings.default_stack
    )
    await ReviewApp.filter(id=row.id).update(
        head_sha=second, building_sha=second, status=ReviewAppStatus.CREATING, message="building"
    )

    # when the reconciler runs, and the job it starts
    await JobQueue(scene.jobs.settings.redis_url).enqueue(await reconcile_review_apps(datetime.now(UTC)))
    await scene.jobs.drain()

    # then it built the commit on that app, instead of failing on the app's name, taken
    row = await ReviewApp.get(pr_number=14)
    assert (row.status, row.app_id, row.worked_sha) == (ReviewAppStatus.CREATED, orphan.id, second), row.message
    assert (await Build.get(id=row.build_id)).status == BuildStatus.SUCCEEDED
    assert await App.filter(name=row.app_name).count() == 1


async def _errored_at_its_first_commit(scene: GitHubScene, pr_number: int) -> tuple[ReviewApp, str, str]:
    """A pull request opened at a commit whose app.json asks for a config var nobody set: its review app ERRORED, with
    neither build nor app (removed again); and a second commit of its branch, which asks for none."""
    first, second = await _needing_a_config_var_then_not(scene)
    await scene.deliver("pull_request", pull_request_payload("opened", pr_number, sha=first, branch="checkout"))
    await scene.jobs.drain()
    row = await ReviewApp.get(pr_number=pr_number)
    assert (row.status, row.head_sha, row.build_id, row.app_id) == (ReviewAppStatus.ERRORED, first, None, None)
    return row, first, second


async def test_a_job_failing_unexpectedly_says_why_and_is_tried_again_ever_later(github_scene: GitHubScene) -> None:
    scene = github_scene
    sha = await scene.setup()
    await scene.enable_review_apps(automatic=False, baseName="shop")
    queue = JobQueue(scene.jobs.settings.redis_url)

    async def when_due() -> None:
        """The reconciler as it runs once the next try is due (and not a second before), and the job it starts."""
        row = await _review_app_of(7)
        assert row.next_try_at is not None
        assert await reconcile_review_apps(row.next_try_at - timedelta(seconds=1)) == []
        jobs = await reconcile_review_apps(row.next_try_at)
        assert [job.job_id for job in jobs] == [work_job(row.id).job_id]
        await queue.enqueue(jobs)
        await scene.jobs.drain()

    # given GitHub answering the lookup of a pull request with something unlike a pull request
    scene.github.pulls[7] = {"title": "neither a number nor a head"}
    created = await scene.gql(CREATE_REVIEW_APP, {"input": {"pipeline": "shop", "pullRequest": 7}})
    assert created["createReviewApp"]["userErrors"] == [], created

    # when the review app's job fails on it, then the review app says so, and when it is tried again
    await scene.jobs.drain()
    [review] = await scene.review_apps()
    assert review["status"] == "ERRORED"
    assert "failed unexpectedly" in review["message"]
    assert "KeyError" in review["message"]
    assert "tried again in 30 s (failure 1 in a row)" in review["message"]
    # and the reconciler leaves it alone until then
    assert await reconcile_review_apps(datetime.now(UTC)) == []

    # when it fails again at each try, then the wait doubles
    await when_due()
    assert "tried again in 60 s (failure 2 in a row)" in (await _review_app_of(7)).message
    await when_due()
    assert "tried again in 2 min (failure 3 in a row)" in (await _review_app_of(7)).message
    # up to an hour
    await ReviewApp.filter(pr_number=7).update(crashes=11)
    await when_due()
    row = await _review_app_of(7)
    assert (row.crashes, row.status) == (12, ReviewAppStatus.ERRORED)
    assert "tried again in 60 min (failure 12 in a row)" in row.message

    # when GitHub answers as it should, then the next try builds the review app, and the count starts afresh
    scene.github.pulls[7] = pull_request_payload("opened", 7, sha=sha, branch="main")["pull_request"]
    await when_due()
    [review] = await scene.review_apps()
    assert (review["status"], review["headSha"]) == ("CREATED", sha), review["message"]
    row = await _review_app_of(7)
    assert (row.crashes, row.next_try_at) == (0, None)
    assert await reconcile_review_apps(datetime.now(UTC) + LATER) == []


async def _review_app_of(pr_number: int) -> ReviewApp:
    return await ReviewApp.get(pr_number=pr_number)


async def test_a_push_tries_a_review_app_whose_job_failed_unexpectedly_at_once(github_scene: GitHubScene) -> None:
    scene = github_scene
    sha = await scene.setup()
    await scene.enable_review_apps(automatic=False, baseName="shop")
    # given a review app whose job failed unexpectedly, waiting for its next try
    scene.github.pulls[7] = {"title": "neither a number nor a head"}
    created = await scene.gql(CREATE_REVIEW_APP, {"input": {"pipeline": "shop", "pullRequest": 7}})
    assert created["createReviewApp"]["userErrors"] == [], created
    await scene.jobs.drain()
    assert (await _review_app_of(7)).crashes == 1

    # when its pull request gets a push, then it is built at once, and the count starts afresh
    await scene.deliver("pull_request", pull_request_payload("synchronize", 7, sha=sha, branch="main"))
    await scene.jobs.drain()
    [review] = await scene.review_apps()
    assert (review["status"], review["headSha"]) == ("CREATED", sha), review["message"]
    row = await _review_app_of(7)
    assert (row.crashes, row.next_try_at) == (0, None)
