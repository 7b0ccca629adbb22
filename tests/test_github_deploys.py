"""Automatic deploys from GitHub: a push builds the branch's commit from GitHub's tarball; with waitForCi it waits
for every status and check suite (driven by status and check_suite events and the combined status), skips when one
fails, and a newer push supersedes a waiting one. deployBranch deploys by hand; outcomes go back to GitHub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipegraph.accounts.models import User
from pipegraph.api.app import create_app
from pipegraph.github.client import post_commit_status
from pipegraph.github.deploys import overdue_deploys
from pipegraph.settings import Settings
from tests.conftest import github_settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.github_scene import (
    DELIVERIES,
    ENABLE_AUTO,
    GitHubScene,
    check_suite_payload,
    push_payload,
    status_payload,
)
from tests.support.github_server import FakeGitHub
from tests.support.jobs import JobRunner
from tests.support.servers import until

DEPLOYS = """
query {
  pipeline(name: "shop") {
    deploys(first: 10) { branch sha status message app { name } build { status } }
  }
  app(name: "shop-staging") { releases(first: 5) { edges { node { version slug { commit } } } } }
}"""

DEPLOY_BRANCH = """
mutation($input: DeployBranchInput!) { deployBranch(input: $input) { deploy { status branch } userErrors { code } } }
"""


async def _auto(scene: GitHubScene, *, wait_for_ci: bool) -> None:
    enabled = await scene.gql(
        ENABLE_AUTO, {"input": {"app": "shop-staging", "branch": "main", "waitForCi": wait_for_ci}}
    )
    assert enabled["enableAutomaticDeploys"]["userErrors"] == [], enabled


async def _state(scene: GitHubScene) -> dict[str, Any]:
    return await scene.gql(DEPLOYS)


def _versions(state: dict[str, Any]) -> list[tuple[int, str]]:
    return [(edge["node"]["version"], edge["node"]["slug"]["commit"]) for edge in state["app"]["releases"]["edges"]]


async def test_a_push_deploys_the_branch_and_reports_it(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup()
    await _auto(github_scene, wait_for_ci=False)

    await github_scene.deliver("push", push_payload("main", sha))
    await github_scene.deliver("push", push_payload("other", sha))  # another branch: nothing
    await github_scene.jobs.drain()

    state = await _state(github_scene)
    [deploy] = state["pipeline"]["deploys"]
    assert (deploy["status"], deploy["sha"], deploy["build"]["status"]) == ("SUCCEEDED", sha, "SUCCEEDED")
    assert _versions(state) == [(1, sha)]
    [deployment] = github_scene.github.posted("/deployments")
    assert (deployment["ref"], deployment["environment"]) == (sha, "shop-staging")
    assert [body["state"] for body in github_scene.github.posted("/statuses")] == ["in_progress", "success"]
    assert all(sent.authorization == "token ghp_test" for sent in github_scene.github.sent)


async def test_with_wait_for_ci_it_waits_then_deploys_once_every_check_succeeded(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup()
    await _auto(github_scene, wait_for_ci=True)
    fake = github_scene.github
    fake.set_status(sha, "ci/test", "pending")
    fake.set_check_suite(sha, "github-actions", "in_progress")

    await github_scene.deliver("push", push_payload("main", sha))
    await github_scene.jobs.drain()
    [waiting] = (await _state(github_scene))["pipeline"]["deploys"]
    assert waiting["status"] == "WAITING_FOR_CI"
    assert "waiting for CI" in waiting["message"]

    fake.set_status(sha, "ci/test", "success")
    await github_scene.deliver("status", status_payload(sha, "success"))
    await github_scene.jobs.drain()
    assert (await _state(github_scene))["pipeline"]["deploys"][0]["status"] == "WAITING_FOR_CI"  # a suite still runs

    fake.set_check_suite(sha, "github-actions", "completed", "success")
    await github_scene.deliver("check_suite", check_suite_payload(sha, "success"))
    await github_scene.jobs.drain()

    state = await _state(github_scene)
    assert state["pipeline"]["deploys"][0]["status"] == "SUCCEEDED"
    assert _versions(state) == [(1, sha)]


async def test_with_wait_for_ci_a_failure_skips_the_deploy_saying_why(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup()
    await _auto(github_scene, wait_for_ci=True)
    github_scene.github.set_status(sha, "ci/test", "pending")
    await github_scene.deliver("push", push_payload("main", sha))
    await github_scene.jobs.drain()

    github_scene.github.set_status(sha, "ci/test", "failure")
    await github_scene.deliver("status", status_payload(sha, "failure"))
    await github_scene.jobs.drain()

    state = await _state(github_scene)
    [deploy] = state["pipeline"]["deploys"]
    assert deploy["status"] == "SKIPPED"
    assert "ci/test" in deploy["message"]
    assert _versions(state) == []


async def test_a_newer_push_supersedes_a_waiting_one(github_scene: GitHubScene) -> None:
    first = await github_scene.setup()
    await _auto(github_scene, wait_for_ci=True)
    await github_scene.deliver("push", push_payload("main", first))
    await github_scene.jobs.drain()
    second = await github_scene.commit({"feature.txt": "v2"})

    await github_scene.deliver("push", push_payload("main", second))
    for sha in (first, second):
        github_scene.github.set_status(sha, "ci/test", "success")
        await github_scene.deliver("status", status_payload(sha, "success"))
    await github_scene.jobs.drain()

    state = await _state(github_scene)
    by_sha = {deploy["sha"]: deploy["status"] for deploy in state["pipeline"]["deploys"]}
    assert by_sha == {first: "SUPERSEDED", second: "SUCCEEDED"}
    assert _versions(state) == [(1, second)]


async def test_deploy_branch_deploys_the_tip_of_a_branch_by_hand(github_scene: GitHubScene) -> None:
    await github_scene.setup()
    tip = await github_scene.commit({"feature.txt": "v2"}, branch="release")

    queued = await github_scene.gql(DEPLOY_BRANCH, {"input": {"app": "shop-staging", "branch": "release"}})
    assert queued["deployBranch"] == {"deploy": {"status": "WAITING_FOR_CI", "branch": "release"}, "userErrors": []}
    await github_scene.jobs.drain()

    state = await _state(github_scene)
    assert state["pipeline"]["deploys"][0]["status"] == "SUCCEEDED"
    assert _versions(state) == [(1, tip)]


async def test_a_github_app_authenticates_as_its_installation_on_the_repository(
    settings: Settings, github: FakeGitHub, viewer: Actor, tmp_path: Any
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = github_settings(settings, github, token="", app_id="1234", app_private_key=pem)
    app = create_app(configured, manage_db=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        scene = GitHubScene(
            gql=GraphQLClient(http, viewer), http=http, github=github, jobs=JobRunner(configured), work=tmp_path / "r"
        )
        sha = await scene.setup()
        await _auto(scene, wait_for_ci=False)
        await scene.deliver("push", push_payload("main", sha))
        await scene.jobs.drain()

        assert (await _state(scene))["pipeline"]["deploys"][0]["status"] == "SUCCEEDED"
    lookup = github.requests("GET", "/installation")[0]
    assert lookup.authorization is not None
    assert lookup.authorization.startswith("bearer ")  # the app's JWT
    assert github.requests("POST", f"/app/installations/{github.installation_id}/access_tokens")
    assert github.requests("GET", "/tarball/")[0].authorization == "token ghs_installation"


async def test_a_commit_status_is_posted_through_the_seam_ci_uses(settings: Settings, github: FakeGitHub) -> None:
    configured = github_settings(settings, github)

    await post_commit_status(
        configured.github,
        "octo-org/shop",
        "b" * 40,
        state="pending",
        context="continuous-integration/pipegraph",
        description="Test run #1 is running",
        target_url="http://testserver/pipelines/shop",
    )

    [sent] = github.requests("POST", "/statuses/")
    assert sent.path == f"/repos/octo-org/shop/statuses/{'b' * 40}"
    assert sent.body == {
        "state": "pending",
        "context": "continuous-integration/pipegraph",
        "description": "Test run #1 is running",
        "target_url": "http://testserver/pipelines/shop",
    }
    assert sent.authorization == "token ghp_test"


async def _look_again(scene: GitHubScene) -> int:
    """What the worker's cron does: deploys waiting past their deadline look at GitHub again. How many did."""
    return await scene.look_again(overdue_deploys)


async def _look_again_once_overdue(scene: GitHubScene) -> None:
    async def looked() -> bool:
        return await _look_again(scene) > 0

    await until(looked, "a deploy waiting for CI past its deadline looked again")


async def test_with_wait_for_ci_a_commit_no_ci_reports_on_is_skipped_after_the_timeout_saying_why(
    impatient_scene: GitHubScene,
) -> None:
    scene = impatient_scene
    sha = await scene.setup()
    await _auto(scene, wait_for_ci=True)

    # when a commit is pushed that no commit status and no check suite ever report on
    await scene.deliver("push", push_payload("main", sha))

    async def skipped() -> bool:
        # the push's job, then the cron's looks (whichever comes after the deadline skips it)
        await _look_again(scene)
        [deploy] = (await _state(scene))["pipeline"]["deploys"]
        return bool(deploy["status"] != "WAITING_FOR_CI")

    await until(skipped, "the deploy no CI reports on has stopped waiting")

    # then the deploy is skipped, saying why and what to do, and nothing was built or released
    state = await _state(scene)
    [deploy] = state["pipeline"]["deploys"]
    assert deploy["status"] == "SKIPPED"
    assert deploy["message"] == (
        f"not deployed: no commit status or check suite was reported on {sha[:7]} within 0.01 s of the push "
        "(PIPEGRAPH_WAIT_FOR_CI_TIMEOUT); with waitForCi a deploy needs CI on the repository: set CI up, turn "
        "waitForCi off, or deploy by hand with deployBranch"
    )
    assert deploy["build"] is None
    assert _versions(state) == []
    assert scene.github.posted("/deployments") == []
    # and the push's delivery said from the start how long it would wait
    [delivery] = (await scene.gql(DELIVERIES, {"name": "shop"}))["pipeline"]["deliveries"]
    assert delivery["message"] == (
        f"1 automatic deploy(s) of main at {sha[:7]} (waiting for CI: skipped if none reports within 0.01 s)"
    )


async def test_with_wait_for_ci_a_commit_whose_ci_reported_waits_past_the_timeout_and_then_deploys(
    impatient_scene: GitHubScene,
) -> None:
    scene = impatient_scene
    sha = await scene.setup()
    await _auto(scene, wait_for_ci=True)
    scene.github.set_status(sha, "ci/test", "pending")

    # when a commit whose CI is still running is pushed, and its deadline passes
    await scene.deliver("push", push_payload("main", sha))
    await scene.jobs.drain()
    await _look_again_once_overdue(scene)

    # then it still waits for that CI, saying what it waits for
    [deploy] = (await _state(scene))["pipeline"]["deploys"]
    assert (deploy["status"], deploy["message"]) == (
        "WAITING_FOR_CI",
        "waiting for CI: commit status 'ci/test' is pending",
    )

    # and when CI succeeds and its event is missed, a later look finds it and deploys
    scene.github.set_status(sha, "ci/test", "success")
    await _look_again_once_overdue(scene)
    state = await _state(scene)
    assert state["pipeline"]["deploys"][0]["status"] == "SUCCEEDED"
    assert _versions(state) == [(1, sha)]


def test_the_wait_for_ci_timeout_is_a_setting_and_a_bad_one_is_refused_clearly(tmp_path: Path) -> None:
    env = {"PIPEGRAPH_DATA_DIR": str(tmp_path), "PIPEGRAPH_SECRET_KEY": "x"}
    assert Settings.from_env(env).github.wait_for_ci_timeout == 3600
    assert Settings.from_env({**env, "PIPEGRAPH_WAIT_FOR_CI_TIMEOUT": "90"}).github.wait_for_ci_timeout == 90
    for bad in ("0", "-3", "soon", "nan", "inf"):
        with pytest.raises(
            ValueError, match=f"PIPEGRAPH_WAIT_FOR_CI_TIMEOUT must be a number of seconds above 0, not '{bad}'"
        ):
            Settings.from_env({**env, "PIPEGRAPH_WAIT_FOR_CI_TIMEOUT": bad})


ACTORS = """
query { pipeline(name: "shop") { deploys(first: 10) { branch actor { email } githubActor } } }"""


async def test_a_deploy_shows_who_pushed_by_github_login_and_who_deployed_by_hand_as_a_user(
    github_scene: GitHubScene, viewer: Actor
) -> None:
    scene = github_scene
    sha = await scene.setup()
    await _auto(scene, wait_for_ci=False)
    users = await User.all().count()

    # when octo-dev pushes main, someone pushes under a name that is no GitHub login, and the viewer deploys by hand
    await scene.deliver("push", push_payload("main", sha, sender={"login": "octo-dev", "id": 9, "type": "User"}))
    await scene.jobs.drain()
    await scene.deliver("push", push_payload("main", sha, sender={"login": "not a login!"}))
    await scene.jobs.drain()
    await scene.gql(DEPLOY_BRANCH, {"input": {"app": "shop-staging", "branch": "main"}})
    await scene.jobs.drain()

    # then the pushes show their pusher's login (the payload's pusher name when the sender has none), never a
    # pipegraph user, and the deploy by hand shows its user
    assert (await scene.gql(ACTORS))["pipeline"]["deploys"] == [
        {"branch": "main", "actor": {"email": viewer.user.email}, "githubActor": None},
        {"branch": "main", "actor": None, "githubActor": "ada"},
        {"branch": "main", "actor": None, "githubActor": "octo-dev"},
    ]
    # and no user was made up for them
    assert await User.all().count() == users
