"""Review apps for pull requests, end to end: webhooks in, arq workers, real builds of `git archive` tarballs served
by the stand-in GitHub, app.json, stage config vars, postdeploy and pr-predestroy in the sandbox."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis

from pipegraph.apps.models import App, AppCollaborator
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.builds.service import RUN_BUILD
from pipegraph.jobs.queue import JobQueue
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.reviewapps.destroy import reap_stale_review_apps
from pipegraph.reviewapps.jobs import work_job
from pipegraph.reviewapps.lifecycle import overdue_review_apps
from pipegraph.reviewapps.models import ReviewApp, ReviewAppStatus
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from tests.support.github_scene import APP_FILES, GitHubScene, pull_request_payload, status_payload
from tests.support.jobs import JobRunner
from tests.support.processes import gone, processes_running
from tests.support.servers import until

APP_JSON = {
    "name": "shop",
    "env": {
        "GREETING": {"value": "hello"},
        "SECRET_KEY_BASE": {"generator": "secret"},
        "API_KEY": {"description": "from the pipeline's review config vars", "required": True},
        "OPTIONAL": {"required": False},
    },
    "scripts": {"postdeploy": "echo seeded $HEROKU_APP_NAME", "pr-predestroy": "echo bye from $HEROKU_PR_NUMBER"},
    "environments": {"review": {"env": {"GREETING": {"value": "hello review"}}}},
}

SET_STAGE_VARS = """
mutation($input: SetStageConfigVarsInput!) { setStageConfigVars(input: $input) { vars userErrors { code message } } }
"""

CREATE_REVIEW_APP = """
mutation($input: CreateReviewAppInput!) {
  createReviewApp(input: $input) { reviewApp { prNumber status } userErrors { code message } }
}"""


def _files() -> dict[str, str]:
    return {**APP_FILES, "app.json": json.dumps(APP_JSON)}


async def _ready(scene: GitHubScene, **options: object) -> str:
    sha = await scene.setup(files=_files())
    await scene.enable_review_apps(automatic=True, baseName="shop", **options)
    stage = await scene.gql(
        SET_STAGE_VARS, {"input": {"pipeline": "shop", "stage": "REVIEW", "vars": {"API_KEY": "k-review"}}}
    )
    assert stage["setStageConfigVars"]["userErrors"] == [], stage
    return sha


async def test_opened_creates_a_review_app_with_its_config_and_predictable_name(github_scene: GitHubScene) -> None:
    await _ready(github_scene)
    sha = await github_scene.commit({"feature.txt": "checkout"}, branch="checkout", message="Add checkout")

    response = await github_scene.deliver(
        "pull_request", pull_request_payload("opened", 12, sha=sha, branch="checkout")
    )
    await github_scene.jobs.drain()

    assert response.status_code == 202
    [review] = await github_scene.review_apps()
    assert review["status"] == "CREATED", review["message"]
    assert (review["appName"], review["app"]["name"], review["prNumber"]) == ("shop-pr-12", "shop-pr-12", 12)
    assert review["headSha"] == sha
    assert review["build"]["status"] == "SUCCEEDED"
    config = review["app"]["configVars"]
    assert config["GREETING"] == "hello review"  # environments.review over the top level
    assert config["API_KEY"] == "k-review"  # the pipeline's review config vars
    assert len(config["SECRET_KEY_BASE"]) == 64  # generator: secret
    assert "OPTIONAL" not in config
    assert {key: config[key] for key in config if key.startswith(("HEROKU_", "PIPEGRAPH_"))} == {
        "HEROKU_APP_NAME": "shop-pr-12",
        "HEROKU_BRANCH": "checkout",
        "HEROKU_PR_NUMBER": "12",
        "HEROKU_PARENT_APP_NAME": "shop-staging",
        "PIPEGRAPH_APP_NAME": "shop-pr-12",
        "PIPEGRAPH_BRANCH": "checkout",
        "PIPEGRAPH_PR_NUMBER": "12",
        "PIPEGRAPH_PARENT_APP_NAME": "shop-staging",
    }
    assert "seeded shop-pr-12" in review["postdeployOutput"]
    # The pull request shows "deployed to shop-pr-12": a deployment, then its success.
    [deployment] = github_scene.github.posted("/deployments")
    assert deployment["environment"] == "shop-pr-12"
    assert deployment["ref"] == sha
    assert [body["state"] for body in github_scene.github.posted("/statuses")] == [
        "in_progress",
        "success",
    ]


async def test_synchronize_rebuilds_with_one_release_more_and_postdeploy_stays_once(
    github_scene: GitHubScene,
) -> None:
    await _ready(github_scene)
    first = await github_scene.commit({"feature.txt": "v1"}, branch="checkout")
    await github_scene.deliver("pull_request", pull_request_payload("opened", 5, sha=first, branch="checkout"))
    await github_scene.jobs.drain()
    app_id = (await ReviewApp.get(pr_number=5)).app_id

    second = await github_scene.commit({"feature.txt": "v2"}, branch="checkout")
    await github_scene.deliver("pull_request", pull_request_payload("synchronize", 5, sha=second, branch="checkout"))
    await github_scene.jobs.drain()

    [review] = await github_scene.review_apps()
    assert review["status"] == "CREATED"
    assert review["headSha"] == second
    assert [edge["node"]["version"] for edge in review["app"]["releases"]["edges"]] == [2, 1]
    assert (await ReviewApp.get(pr_number=5)).app_id == app_id  # the same app, rebuilt
    assert review["postdeployOutput"].count("seeded") == 1


async def test_closed_runs_predestroy_and_removes_the_app_and_its_access(github_scene: GitHubScene) -> None:
    await _ready(github_scene)
    sha = await github_scene.commit({"feature.txt": "v1"}, branch="checkout")
    await github_scene.deliver("pull_request", pull_request_payload("opened", 9, sha=sha, branch="checkout"))
    await github_scene.jobs.drain()
    app_id = (await ReviewApp.get(pr_number=9)).app_id
    assert app_id is not None

    await github_scene.deliver(
        "pull_request", pull_request_payload("closed", 9, sha=sha, branch="checkout", merged=True)
    )
    await github_scene.jobs.drain()

    [review] = await github_scene.review_apps()
    assert review["status"] == "DELETED"
    assert review["app"] is None
    assert "bye from 9" in review["predestroyOutput"]
    assert not await App.exists(id=app_id)
    assert not await AppCollaborator.exists(app_id=app_id)
    assert [body["state"] for body in github_scene.github.posted("/statuses")][-1] == "inactive"


def _deployment_statuses(scene: GitHubScene) -> list[list[tuple[str, str]]]:
    """The states (and descriptions) pipegraph posted for each GitHub deployment, in the order it made them."""
    by_deployment: dict[str, list[tuple[str, str]]] = {}
    for sent in scene.github.sent:
        if sent.method == "POST" and "/deployments/" in sent.path and sent.path.endswith("/statuses"):
            state = (sent.body["state"], sent.body["description"])
            by_deployment.setdefault(sent.path.split("/")[-2], []).append(state)
    return list(by_deployment.values())


async def _opened_and_deployed(scene: GitHubScene, pr_number: int) -> str:
    await _ready(scene)
    first = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("opened", pr_number, sha=first, branch="checkout"))
    await scene.jobs.drain()
    return first


async def _pushed(scene: GitHubScene, pr_number: int, files: dict[str, str]) -> str:
    sha = await scene.commit(files, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("synchronize", pr_number, sha=sha, branch="checkout"))
    await scene.jobs.drain()
    return sha


async def test_a_successful_rebuild_makes_the_deployment_it_replaces_inactive_and_a_failed_one_does_not(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    broken = json.dumps({"buildpacks": [{"url": str(_buildpack(tmp_path / "broken", "exit 1"))}]})
    await _opened_and_deployed(scene, 14)

    # given the review app deployed, then a commit that does not build
    await _pushed(scene, 14, {"app.json": broken})
    assert (await ReviewApp.get(pr_number=14)).status == ReviewAppStatus.ERRORED
    # (the first deployment is still what runs: it stays active)
    deployed, failed = _deployment_statuses(scene)
    assert deployed == [("in_progress", "building"), ("success", "deployed v1")]
    assert [state for state, _ in failed] == ["in_progress", "failure"]

    # when a commit that builds again is pushed
    third = await _pushed(scene, 14, {"app.json": json.dumps(APP_JSON), "feature.txt": "v3"})
    assert (await ReviewApp.get(pr_number=14)).status == ReviewAppStatus.CREATED

    # then the deployment that was active, the first one, is made inactive once the third one succeeded; the failed
    # one is left as it was
    deployed, failed, replacing = _deployment_statuses(scene)
    assert deployed == [
        ("in_progress", "building"),
        ("success", "deployed v1"),
        ("inactive", f"replaced by the deployment of {third[:7]}"),
    ]
    assert [state for state, _ in failed] == ["in_progress", "failure"]
    assert replacing == [("in_progress", "building"), ("success", "deployed v2")]

    # and when the pull request closes, the third one goes inactive as well: none is left active
    await scene.deliver("pull_request", pull_request_payload("closed", 14, sha=third, branch="checkout"))
    await scene.jobs.drain()
    assert [statuses[-1][0] for statuses in _deployment_statuses(scene)] == ["inactive", "failure", "inactive"]


async def test_a_review_app_destroyed_after_a_failed_rebuild_makes_its_deployed_one_inactive_too(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    broken = json.dumps({"buildpacks": [{"url": str(_buildpack(tmp_path / "broken", "exit 1"))}]})
    await _opened_and_deployed(scene, 15)
    # given a review app deployed, whose next commit failed to build
    second = await _pushed(scene, 15, {"app.json": broken})

    # when its pull request closes
    await scene.deliver("pull_request", pull_request_payload("closed", 15, sha=second, branch="checkout"))
    await scene.jobs.drain()

    # then both its deployments are inactive: the failed one, and the one that was deployed until then
    deployed, failed = _deployment_statuses(scene)
    assert [state for state, _ in deployed] == ["in_progress", "success", "inactive"]
    assert [state for state, _ in failed] == ["in_progress", "failure", "inactive"]


async def test_a_postdeploy_failure_after_the_release_went_live_reports_the_live_deployment_and_the_failure(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    await _ready(scene)
    # given a review app deployed from a commit whose app.json has no postdeploy script
    first = await scene.commit(
        {"feature.txt": "v1", "app.json": json.dumps({**APP_JSON, "scripts": {}})}, branch="checkout"
    )
    await scene.deliver("pull_request", pull_request_payload("opened", 16, sha=first, branch="checkout"))
    await scene.jobs.drain()
    assert (await ReviewApp.get(pr_number=16)).status == ReviewAppStatus.CREATED

    # when the next commit adds one, which fails once its release is live
    failing = {**APP_JSON, "scripts": {"postdeploy": "echo seeding; echo cannot reach the database; exit 3"}}
    second = await _pushed(scene, 16, {"app.json": json.dumps(failing), "feature.txt": "v2"})

    # then GitHub is told the truth: the new deployment is the live one, saying its postdeploy failed, and the one
    # it replaced is no longer active
    deployed, replacing = _deployment_statuses(scene)
    assert deployed == [
        ("in_progress", "building"),
        ("success", "deployed v1"),
        ("inactive", f"replaced by the deployment of {second[:7]}"),
    ]
    assert [state for state, _ in replacing] == ["in_progress", "success"]
    assert replacing[-1][1].startswith("deployed v2, but the postdeploy script failed: ")
    # and the review app says its release is live and its postdeploy failed
    [review] = await scene.review_apps()
    assert review["status"] == "ERRORED"
    assert review["message"].startswith("deployed v2, but the postdeploy script failed: "), review["message"]
    assert "cannot reach the database" in review["postdeployOutput"]
    assert [edge["node"]["version"] for edge in review["app"]["releases"]["edges"]] == [2, 1]


async def test_a_stale_review_app_is_reaped(github_scene: GitHubScene) -> None:
    await _ready(github_scene, destroyStaleApps=True, staleDays=2)
    sha = await github_scene.commit({"feature.txt": "v1"}, branch="checkout")
    await github_scene.deliver("pull_request", pull_request_payload("opened", 4, sha=sha, branch="checkout"))
    await github_scene.jobs.drain()

    fresh = await reap_stale_review_apps(datetime.now(UTC))
    jobs = await reap_stale_review_apps(datetime.now(UTC) + timedelta(days=3))
    await JobQueue(github_scene.jobs.settings.redis_url).enqueue(jobs)
    await github_scene.jobs.drain()

    assert fresh == []
    assert len(jobs) == 1
    [review] = await github_scene.review_apps()
    assert review["status"] == "DELETED"
    assert review["message"] == "destroyed: stale: no deploy for 2 days"


async def test_a_fork_pull_request_is_not_automatic_but_can_be_created_by_hand(github_scene: GitHubScene) -> None:
    await _ready(github_scene)
    sha = await github_scene.commit({"feature.txt": "from a fork"}, branch="fork-work")

    await github_scene.deliver(
        "pull_request", pull_request_payload("opened", 21, sha=sha, branch="fork-work", head_repo="stranger/shop")
    )
    await github_scene.jobs.drain()
    assert await github_scene.review_apps() == []

    github_scene.github.pulls[21] = pull_request_payload(
        "opened", 21, sha=sha, branch="fork-work", head_repo="stranger/shop"
    )["pull_request"]
    created = await github_scene.gql(CREATE_REVIEW_APP, {"input": {"pipeline": "shop", "pullRequest": 21}})
    assert created["createReviewApp"]["userErrors"] == [], created
    await github_scene.jobs.drain()

    [review] = await github_scene.review_apps()
    assert (review["status"], review["fork"], review["headSha"]) == ("CREATED", True, sha), review["message"]


async def test_a_required_env_var_without_a_value_errors_naming_it(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup(files=_files())
    await github_scene.enable_review_apps(automatic=True)  # and no review config vars: API_KEY has no value

    await github_scene.deliver("pull_request", pull_request_payload("opened", 2, sha=sha, branch="main"))
    await github_scene.jobs.drain()

    [review] = await github_scene.review_apps()
    assert review["status"] == "ERRORED"
    assert "API_KEY" in review["message"]
    assert review["app"] is None
    assert not await App.exists(name="shop-pr-2")


async def test_two_deliveries_for_one_pull_request_at_once_make_one_review_app(github_scene: GitHubScene) -> None:
    await _ready(github_scene)
    sha = await github_scene.commit({"feature.txt": "v1"}, branch="checkout")
    opened = pull_request_payload("opened", 8, sha=sha, branch="checkout")
    reopened = pull_request_payload("reopened", 8, sha=sha, branch="checkout")

    answers = await asyncio.gather(
        github_scene.deliver("pull_request", opened), github_scene.deliver("pull_request", reopened)
    )
    # Two workers at once, each taking jobs as they come.
    second = JobRunner(github_scene.jobs.settings)
    await asyncio.gather(github_scene.jobs.drain(), second.drain())

    assert [answer.status_code for answer in answers] == [202, 202]
    [review] = await github_scene.review_apps()
    assert review["status"] == "CREATED", review["message"]
    assert len(review["app"]["releases"]["edges"]) == 1
    assert await App.filter(name__startswith="shop-pr-").count() == 1


DELETE_REVIEW_APP = """
mutation($input: DeleteReviewAppInput!) {
  deleteReviewApp(input: $input) { reviewApp { status } userErrors { code message } }
}"""


async def test_with_wait_for_ci_a_review_app_waits_for_ci_then_builds(github_scene: GitHubScene) -> None:
    await _ready(github_scene, waitForCi=True)
    sha = await github_scene.commit({"feature.txt": "v1"}, branch="checkout")
    github_scene.github.set_status(sha, "ci/test", "pending")

    await github_scene.deliver("pull_request", pull_request_payload("opened", 6, sha=sha, branch="checkout"))
    await github_scene.jobs.drain()
    [waiting] = await github_scene.review_apps()
    github_scene.github.set_status(sha, "ci/test", "success")
    await github_scene.deliver("status", status_payload(sha, "success"))
    await github_scene.jobs.drain()

    assert waiting["status"] == "PENDING"
    assert "waiting for CI" in waiting["message"]
    assert waiting["app"] is None
    [review] = await github_scene.review_apps()
    assert review["status"] == "CREATED"


async def test_with_wait_for_ci_a_push_to_a_built_review_app_is_built_once_its_ci_passed(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    await _ready(scene, waitForCi=True)
    first = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    scene.github.set_status(first, "ci/test", "success")
    await scene.deliver("pull_request", pull_request_payload("opened", 16, sha=first, branch="checkout"))
    await scene.jobs.drain()
    # given the review app built, and a push whose CI is still running
    second = await scene.commit({"feature.txt": "v2"}, branch="checkout")
    scene.github.set_status(second, "ci/test", "pending")
    await scene.deliver("pull_request", pull_request_payload("synchronize", 16, sha=second, branch="checkout"))
    await scene.jobs.drain()
    [waiting] = await scene.review_apps()
    assert (waiting["status"], waiting["headSha"]) == ("CREATED", second)
    assert "waiting for CI" in waiting["message"]

    # when its CI passes
    scene.github.set_status(second, "ci/test", "success")
    await scene.deliver("status", status_payload(second, "success"))
    await scene.jobs.drain()

    # then the review app is built at that commit, at once (not when its wait's deadline comes)
    row = await ReviewApp.get(pr_number=16)
    assert (row.status, row.building_sha) == (ReviewAppStatus.CREATED, second), row.message


async def test_delete_review_app_destroys_it_by_hand(github_scene: GitHubScene) -> None:
    await _ready(github_scene)
    sha = await github_scene.commit({"feature.txt": "v1"}, branch="checkout")
    await github_scene.deliver("pull_request", pull_request_payload("opened", 11, sha=sha, branch="checkout"))
    await github_scene.jobs.drain()

    deleted = await github_scene.gql(DELETE_REVIEW_APP, {"input": {"pipeline": "shop", "pullRequest": 11}})
    await github_scene.jobs.drain()

    assert deleted["deleteReviewApp"] == {"reviewApp": {"status": "DELETING"}, "userErrors": []}
    [review] = await github_scene.review_apps()
    assert review["status"] == "DELETED"
    assert review["message"] == "destroyed: deleted by hand"
    assert not await App.exists(name="shop-pr-11")


SLOW_MARK = "4242.25"  # the slow buildpack's sleep, found among the host's processes by this argument


def _slow_buildpack(folder: Path) -> Path:
    """A buildpack whose compile sleeps for an hour: the review app is still building when its pull request closes."""
    return _buildpack(folder, f'echo "-----> Compiling slowly"\nexec sleep {SLOW_MARK}')


def _buildpack(folder: Path, compile_script: str) -> Path:
    scripts = {
        "detect": "#!/bin/sh\necho slow\n",
        "compile": f"#!/bin/sh\n{compile_script}\n",
        "release": "#!/bin/sh\necho '--- {}'\n",
    }
    for name, text in scripts.items():
        script = folder / "bin" / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(text)
        script.chmod(0o755)
    return folder


async def test_closing_a_pull_request_while_its_review_app_builds_cancels_the_build_and_destroys_it_cleanly(
    github_scene: GitHubScene, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scene = github_scene
    pack = _slow_buildpack(tmp_path / "slow-buildpack")
    await scene.setup(files={**APP_FILES, "app.json": json.dumps({"buildpacks": [{"url": str(pack)}]})})
    await scene.enable_review_apps(automatic=True, baseName="shop")
    sha = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("opened", 4, sha=sha, branch="checkout"))
    caplog.set_level(logging.INFO)

    # given its review app building: the slow buildpack's compile is running
    worker = asyncio.create_task(scene.jobs.drain())
    try:
        await until(lambda: _running(SLOW_MARK), "the slow buildpack compiling", seconds=50)
        app_id = (await ReviewApp.get(pr_number=4)).app_id
        assert app_id is not None

        # when the pull request is closed (the same worker, still busy with the build, takes the delivery)
        await scene.deliver("pull_request", pull_request_payload("closed", 4, sha=sha, branch="checkout"))
        await asyncio.wait_for(worker, timeout=60)
    finally:
        worker.cancel()  # only when a step above failed: the worker ended otherwise

    # then the build was stopped, its commands with it, and the app is destroyed saying so
    assert await gone(SLOW_MARK, within=30)  # killed with the build (the kernel may take a moment to reap them)
    [review] = await scene.review_apps()
    assert (review["status"], review["app"]) == ("DELETED", None)
    assert review["message"] == "destroyed: pull request closed; its build was cancelled"
    # and nothing of the app is left: no row names it, its build cache is gone
    for model in (App, AppCollaborator, Build, Release, Slug):
        assert not await model.exists(**({"id": app_id} if model is App else {"app_id": app_id})), model.__name__
    assert not (settings.build_cache_dir / "apps" / str(app_id)).exists()
    # and it all went without an error: no error-level line, no traceback
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert "Traceback" not in caplog.text
    # and the build's end was said plainly where the worker logs its jobs
    assert any(record.getMessage().endswith(": failed") for record in caplog.records if "build" in record.getMessage())


async def _running(argument: str) -> bool:
    return bool(processes_running(argument))


def _unique_seconds(seconds: int) -> str:
    """About `seconds`, written as an argument no other process on the host has (to find a sleep among them)."""
    return f"{seconds + os.getpid() % 1000 / 100000:.5f}"


async def _opened_building_with(
    scene: GitHubScene, buildpack: Path, *, pr_number: int, files: dict[str, str] | None = None
) -> str:
    """A pull request opened at a first commit whose app.json builds with `buildpack`; that commit."""
    app_json = json.dumps({"buildpacks": [{"url": str(buildpack)}]})
    await scene.setup(files={**APP_FILES, **(files or {}), "app.json": app_json})
    await scene.enable_review_apps(automatic=True, baseName="shop")
    first = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("opened", pr_number, sha=first, branch="checkout"))
    return first


async def test_an_older_build_ending_while_a_newer_commits_build_is_made_leaves_the_status_to_the_newer_build(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    marker = _unique_seconds(6)
    slow = _buildpack(tmp_path / "slow", f'echo "-----> Compiling for a few seconds"\nexec sleep {marker}')
    broken = _buildpack(tmp_path / "broken", 'echo "-----> Broken on purpose"\nexit 1')
    await _opened_building_with(scene, slow, pr_number=6)
    worker = asyncio.create_task(scene.jobs.drain())
    second = await scene.commit(
        {"feature.txt": "v2", "app.json": json.dumps({"buildpacks": [{"url": str(broken)}]})}, branch="checkout"
    )
    source_served = scene.github.hold_tarball(second)
    try:
        # given the first commit's build compiling
        await until(lambda: _running(marker), "the first commit's build compiling", seconds=60)
        older = await Build.get(id=(await ReviewApp.get(pr_number=6)).build_id)

        # when the second commit is pushed, and its build is being made (its source still downloading from GitHub)
        # as the first commit's build ends (cancelled, superseded by the second), and the job of that build is done
        await scene.deliver("pull_request", pull_request_payload("synchronize", 6, sha=second, branch="checkout"))

        async def downloading() -> bool:
            return bool(scene.github.requests("GET", f"/tarball/{second}"))

        await until(downloading, "the second commit's source asked of GitHub")
        await until(lambda: _job_done(scene, RUN_BUILD.job(older.id).job_id), "the first build's job done", seconds=60)
        await older.refresh_from_db()
        assert older.status == BuildStatus.FAILED
        assert f"superseded by commit {second[:7]}" in (older.error_message or "")

        # then the first build's end did not set the review app's status: it is the second commit's build's to set
        row = await ReviewApp.get(pr_number=6)
        assert (row.status, row.message) == (ReviewAppStatus.CREATING, f"building {second[:7]}")
        source_served.set()
        await asyncio.wait_for(worker, timeout=90)
    finally:
        source_served.set()
        worker.cancel()  # only when a step above failed: the worker ended otherwise

    # and the second build's end is what the review app shows
    [review] = await scene.review_apps()
    assert (review["headSha"], review["status"], review["build"]["status"]) == (second, "ERRORED", "FAILED")
    assert "Broken on purpose" in review["build"]["output"]


async def test_a_newer_commit_cancels_the_older_build_which_never_makes_its_release_current(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    marker = _unique_seconds(20)  # long enough for the second build to end first, were the first one not cancelled
    slow = _buildpack(tmp_path / "slow", f'echo "-----> Compiling for a while"\nexec sleep {marker}')
    quick = _buildpack(tmp_path / "quick", 'echo "-----> Compiling quickly"')
    first = await _opened_building_with(scene, slow, pr_number=7)
    worker = asyncio.create_task(scene.jobs.drain())
    try:
        # given the first commit's build compiling (its deployment shown in progress on the pull request)
        await until(lambda: _running(marker), "the first commit's build compiling", seconds=60)
        older = await Build.get(id=(await ReviewApp.get(pr_number=7)).build_id)

        # when a second commit, quick to build, is pushed to the pull request
        second = await scene.commit(
            {"feature.txt": "v2", "app.json": json.dumps({"buildpacks": [{"url": str(quick)}]})}, branch="checkout"
        )
        await scene.deliver("pull_request", pull_request_payload("synchronize", 7, sha=second, branch="checkout"))
        await asyncio.wait_for(worker, timeout=90)
    finally:
        worker.cancel()  # only when a step above failed: the worker ended otherwise

    # then the second commit's release is the current one, whenever the first build would have ended
    review = await ReviewApp.get(pr_number=7)
    current = await Release.get(app_id=review.app_id, is_current=True)
    assert (await Slug.get(id=current.slug_id)).commit == second
    assert (review.status, review.building_sha) == (ReviewAppStatus.CREATED, second)
    # and the first build was cancelled: its commands stopped, no release, its log ending with the reason
    assert await gone(marker, within=30)
    await older.refresh_from_db()
    reason = f"superseded by commit {second[:7]}"
    assert (older.status, older.release_id) == (BuildStatus.FAILED, None)
    assert reason in (older.error_message or "")
    assert older.output is not None
    assert reason in older.output.splitlines()[-1]
    assert "Compiling for a while" in older.output
    # and the pull request shows the first deployment inactive, superseded, and the second one deployed
    first_deployment, second_deployment = scene.github.posted("/deployments")
    assert (first_deployment["ref"], second_deployment["ref"]) == (first, second)
    statuses = [
        (sent.path.split("/")[-2], sent.body["state"], sent.body["description"])
        for sent in scene.github.sent
        if sent.method == "POST" and sent.path.endswith("/statuses") and "/deployments/" in sent.path
    ]
    [first_id, second_id] = list(dict.fromkeys(deployment_id for deployment_id, _, _ in statuses))
    assert [(state, text) for deployment_id, state, text in statuses if deployment_id == first_id] == [
        ("in_progress", "building"),
        ("inactive", f"{reason}: the review app builds that commit instead"),
    ]
    assert [state for deployment_id, state, _ in statuses if deployment_id == second_id] == ["in_progress", "success"]


async def test_a_newer_commit_during_the_older_builds_release_phase_releases_after_it(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    marker = _unique_seconds(10)  # longer than the tests' release phase timeout (5s): that release ends FAILED
    quick = _buildpack(tmp_path / "quick", 'echo "-----> Compiling quickly"')
    procfile = f"web: ./bin/web\nrelease: sleep {marker}\n"
    first = await _opened_building_with(scene, quick, pr_number=8, files={"Procfile": procfile})
    worker = asyncio.create_task(scene.jobs.drain())
    try:
        # given the first commit built, its release phase running (the build cannot be cancelled any more)
        await until(lambda: _running(marker), "the first commit's release phase", seconds=60)
        older = await Build.get(id=(await ReviewApp.get(pr_number=8)).build_id)

        # when a second commit is pushed, whose build may well end before that release phase
        second = await scene.commit({"feature.txt": "v2", "Procfile": "web: ./bin/web\n"}, branch="checkout")
        await scene.deliver("pull_request", pull_request_payload("synchronize", 8, sha=second, branch="checkout"))
        await asyncio.wait_for(worker, timeout=90)
    finally:
        worker.cancel()  # only when a step above failed: the worker ended otherwise

    # then the release order kept the first commit's release before the second's: the second one is current (the
    # first one ended too, timed out: whatever its outcome, it came before)
    review = await ReviewApp.get(pr_number=8)
    releases = await Release.filter(app_id=review.app_id).order_by("version")
    commits = [(await Slug.get(id=release.slug_id)).commit for release in releases]
    assert commits[-2:] == [first, second]
    assert [release.status for release in releases[-2:]] == [ReleaseStatus.FAILED, ReleaseStatus.SUCCEEDED]
    assert releases[-1].is_current
    await older.refresh_from_db()
    assert older.status == BuildStatus.SUCCEEDED  # nothing to cancel: it had made its release
    assert (review.status, review.building_sha) == (ReviewAppStatus.CREATED, second)
    # and its deployment, whose outcome the review app no longer reports, is inactive
    assert [body["state"] for body in scene.github.posted("/statuses")][-4:] == [
        "in_progress",
        "inactive",
        "in_progress",
        "success",
    ]


async def _opened_then_pushed_while_its_job_runs(scene: GitHubScene, pr_number: int, first: str, second: str) -> None:
    """A pull request opened at `first`, then `second` pushed while the review app's job is still at `first` (its
    source held back), then every job run to its end."""
    source_served = scene.github.hold_tarball(first)
    await scene.deliver("pull_request", pull_request_payload("opened", pr_number, sha=first, branch="checkout"))
    worker = asyncio.create_task(scene.jobs.drain())
    try:
        await _pushed_while_its_job_runs(scene, pr_number, first, second)
        source_served.set()
        await asyncio.wait_for(worker, timeout=90)
    finally:
        source_served.set()
        worker.cancel()  # only when a step above failed: the worker ended otherwise


async def _pushed_while_its_job_runs(scene: GitHubScene, pr_number: int, first: str, second: str) -> None:
    """The second commit is pushed while the review app's job is still at the first one (its source downloading):
    the queue refuses that push's job, whose id is the running job's."""
    await until(lambda: _asked_for(scene, first), "the first commit's source asked of GitHub", seconds=60)
    await scene.deliver("pull_request", pull_request_payload("synchronize", pr_number, sha=second, branch="checkout"))

    async def pushed() -> bool:
        return (await ReviewApp.get(pr_number=pr_number)).head_sha == second

    await until(pushed, "the push taken in")
    review = await ReviewApp.get(pr_number=pr_number)
    assert not await _job_done(scene, work_job(review.id).job_id)  # still at the first commit


async def _asked_for(scene: GitHubScene, sha: str) -> bool:
    return bool(scene.github.requests("GET", f"/tarball/{sha}"))


async def test_a_push_while_the_review_apps_job_runs_is_built_and_cancels_the_build_that_job_made(
    github_scene: GitHubScene, tmp_path: Path
) -> None:
    scene = github_scene
    marker = _unique_seconds(20)  # long enough to tell a cancelled first build from one that ran to its end
    slow = _buildpack(tmp_path / "slow", f'echo "-----> Compiling for a while"\nexec sleep {marker}')
    quick = _buildpack(tmp_path / "quick", 'echo "-----> Compiling quickly"')
    app_json = json.dumps({"buildpacks": [{"url": str(slow)}]})
    await scene.setup(files={**APP_FILES, "app.json": app_json})
    await scene.enable_review_apps(automatic=True, baseName="shop")
    first = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    second = await scene.commit(
        {"feature.txt": "v2", "app.json": json.dumps({"buildpacks": [{"url": str(quick)}]})}, branch="checkout"
    )
    # given the review app's job at the first commit, before it made its build (the source downloading)
    # when the second commit is pushed, then the source served and the first commit's build made
    await _opened_then_pushed_while_its_job_runs(scene, 9, first, second)

    # then the second commit was built, at once, and its release is current
    review = await ReviewApp.get(pr_number=9)
    assert (review.status, review.building_sha) == (ReviewAppStatus.CREATED, second)
    current = await Release.get(app_id=review.app_id, is_current=True)
    assert (await Slug.get(id=current.slug_id)).commit == second
    # and the first commit's build was cancelled, superseded, not run to its end
    [older] = await Build.filter(app_id=review.app_id).exclude(id=review.build_id)
    assert (older.status, older.release_id) == (BuildStatus.FAILED, None)
    assert f"superseded by commit {second[:7]}" in (older.error_message or "")
    assert await gone(marker, within=30)


async def _needing_a_config_var_then_not(scene: GitHubScene) -> tuple[str, str]:
    """Two commits of a pull request's branch: the first one's app.json asks for a config var nobody set, the second
    one's does not."""
    await _ready(scene)
    needs_more = json.loads(json.dumps(APP_JSON))
    needs_more["env"]["MISSING"] = {"required": True}
    first = await scene.commit({"app.json": json.dumps(needs_more)}, branch="checkout")
    second = await scene.commit({"app.json": json.dumps(APP_JSON), "feature.txt": "v2"}, branch="checkout")
    return first, second


async def test_a_push_while_the_review_apps_job_runs_is_built_though_the_older_commit_could_not_be(
    github_scene: GitHubScene,
) -> None:
    scene = github_scene
    first, second = await _needing_a_config_var_then_not(scene)
    # given the review app's job at a first commit whose app.json asks for a config var nobody set
    # when the second commit, which does not, is pushed before that job found out
    await _opened_then_pushed_while_its_job_runs(scene, 10, first, second)

    # then the second commit was built: the push was not lost behind the first commit's error
    [review] = await scene.review_apps()
    assert (review["headSha"], review["status"]) == (second, "CREATED"), review


async def _job_done(scene: GitHubScene, job_id: str) -> bool:
    """arq keeps no result (keep_result 0): a job is done once neither its queued nor its in-progress key is left."""
    redis = Redis.from_url(scene.jobs.settings.redis_url)
    try:
        return not await redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
    finally:
        await redis.aclose()


DISABLE_REVIEW_APPS = """
mutation($input: DisableReviewAppsInput!) {
  disableReviewApps(input: $input) {
    pipeline { name reviewAppConfig { automatic } }
    userErrors { field code message }
  }
}"""


async def test_disabling_review_apps_stops_new_ones_and_keeps_those_there_are(github_scene: GitHubScene) -> None:
    scene = github_scene
    await _ready(scene)
    sha = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    await scene.deliver("pull_request", pull_request_payload("opened", 9, sha=sha, branch="checkout"))
    await scene.jobs.drain()

    # when review apps are disabled, then a pull request opens and one is asked for by hand
    disabled = await scene.gql(DISABLE_REVIEW_APPS, {"input": {"pipeline": "shop"}})
    await scene.deliver("pull_request", pull_request_payload("opened", 10, sha=sha, branch="checkout"))
    by_hand = await scene.gql(CREATE_REVIEW_APP, {"input": {"pipeline": "shop", "pullRequest": 10}})
    again = await scene.gql(DISABLE_REVIEW_APPS, {"input": {"pipeline": "shop"}})
    await scene.jobs.drain()

    # then the config is gone and no new review app is made, either way; disabling twice says why it cannot
    assert disabled["disableReviewApps"] == {
        "pipeline": {"name": "shop", "reviewAppConfig": None},
        "userErrors": [],
    }
    assert by_hand["createReviewApp"]["reviewApp"] is None
    assert [error["code"] for error in by_hand["createReviewApp"]["userErrors"]] == ["REVIEW_APPS_NOT_ENABLED"]
    assert again["disableReviewApps"]["pipeline"] is None
    assert again["disableReviewApps"]["userErrors"] == [
        {
            "field": "pipeline",
            "code": "REVIEW_APPS_NOT_ENABLED",
            "message": "review apps are not enabled on pipeline shop: nothing to disable",
        }
    ]
    [kept] = await scene.review_apps()
    assert (kept["prNumber"], kept["status"], kept["app"]["name"]) == (9, "CREATED", "shop-pr-9")

    # and the one there was still goes when its pull request closes
    await scene.deliver("pull_request", pull_request_payload("closed", 9, sha=sha, branch="checkout"))
    await scene.jobs.drain()
    [review] = await scene.review_apps()
    assert (review["status"], review["message"]) == ("DELETED", "destroyed: pull request closed")
    assert not await App.exists(name="shop-pr-9")


async def _opened_waiting_for_ci(scene: GitHubScene, pr_number: int, *, ci_status: str | None = None) -> str:
    """Review apps with waitForCi, and a pull request opened on a new commit (with `ci_status` from CI, if any)."""
    await _ready(scene, waitForCi=True)
    sha = await scene.commit({"feature.txt": "v1"}, branch="checkout")
    if ci_status is not None:
        scene.github.set_status(sha, "ci/test", ci_status)
    await scene.deliver("pull_request", pull_request_payload("opened", pr_number, sha=sha, branch="checkout"))
    await scene.jobs.drain()
    return sha


async def _look_again_until(scene: GitHubScene, pr_number: int, ended: Callable[[dict[str, Any]], bool]) -> None:
    """The cron's looks at review apps waiting for CI past their deadline, until the review app's state is `ended`."""

    async def done() -> bool:
        await scene.look_again(overdue_review_apps)
        rows = [row for row in await scene.review_apps() if row["prNumber"] == pr_number]
        return bool(rows) and ended(rows[0])

    await until(done, f"the review app of #{pr_number} has stopped waiting for CI as expected")


async def test_with_wait_for_ci_a_commit_no_ci_reports_on_is_given_up_after_the_timeout_saying_why(
    impatient_scene: GitHubScene,
) -> None:
    scene = impatient_scene

    # when a pull request opens on a commit that no commit status and no check suite ever report on
    sha = await _opened_waiting_for_ci(scene, 6)
    await _look_again_until(scene, 6, lambda row: row["status"] != "PENDING")

    # then its review app is given up, saying why and what to do, and nothing was made or built
    [review] = await scene.review_apps()
    assert review["status"] == "ERRORED"
    assert review["message"] == (
        f"not built: no commit status or check suite was reported on {sha[:7]} within 0.01 s of its request or last "
        "push (PIPEGRAPH_WAIT_FOR_CI_TIMEOUT); with waitForCi a review app needs CI on the repository: set CI up and "
        "push again, or turn waitForCi off and createReviewApp again"
    )
    assert (review["app"], review["build"]) == (None, None)
    assert not await App.exists(name="shop-pr-6")
    assert await scene.look_again(overdue_review_apps) == 0  # given up once: the cron no longer looks at it

    # and the way out it names works: waitForCi off, asked for again, it builds
    await scene.enable_review_apps(automatic=True, baseName="shop", waitForCi=False)
    again = await scene.gql(CREATE_REVIEW_APP, {"input": {"pipeline": "shop", "pullRequest": 6}})
    assert again["createReviewApp"]["userErrors"] == [], again
    await scene.jobs.drain()
    [review] = await scene.review_apps()
    assert review["status"] == "CREATED", review["message"]


async def test_with_wait_for_ci_a_review_app_whose_ci_reported_waits_past_the_timeout_then_builds(
    impatient_scene: GitHubScene,
) -> None:
    scene = impatient_scene

    # when its CI is still running past the deadline
    sha = await _opened_waiting_for_ci(scene, 7, ci_status="pending")

    async def looked() -> bool:
        return await scene.look_again(overdue_review_apps) > 0

    await until(looked, "the review app waiting for CI past its deadline looked again")

    # then it still waits for that CI, saying what it waits for
    [review] = await scene.review_apps()
    assert (review["status"], review["message"]) == ("PENDING", "waiting for CI: commit status 'ci/test' is pending")

    # and when CI succeeds and its event is missed, a later look finds it and builds
    scene.github.set_status(sha, "ci/test", "success")
    await _look_again_until(scene, 7, lambda row: row["status"] != "PENDING")
    [review] = await scene.review_apps()
    assert review["status"] == "CREATED", review["message"]
