"""Pipeline CI on GitHub, against the local GitHub stand-in: a push event starts a run of GitHub's tarball of the
commit, each status change is posted to the commit (context pipegraph/ci), and an automatic deploy with waitForCi
waits for pipegraph's own CI, then deploys (or is skipped when it fails)."""

from __future__ import annotations

from typing import Any

from strawberry.relay import to_base64

from pipegraph.accounts.models import User
from pipegraph.ci.models import TestRun, TestRunStatus
from tests.support.ci_scene import CREATE_TEST_RUN, ENABLE_CI, shop_tree
from tests.support.clients import GraphQLClient, make_actor
from tests.support.github_scene import ENABLE_AUTO, REPO, GitHubScene, push_payload

DEPLOYS = """
query {
  pipeline(name: "shop") { deploys(first: 10) { sha status message } }
  app(name: "shop-staging") { releases(first: 5) { edges { node { version slug { commit } } } } }
}"""


async def _ci_on(scene: GitHubScene, *, test_body: str = 'echo "tests pass"') -> str:
    sha = await scene.setup(files=shop_tree(test_body=test_body))
    enabled = await scene.gql(ENABLE_CI, {"input": {"pipeline": "shop"}})
    assert enabled["enableCi"]["userErrors"] == [], enabled
    return sha


async def _push_deployed_after_ci(scene: GitHubScene, *, test_body: str) -> str:
    """Staging deployed automatically from main once CI passed, CI on, and a push of main worked by the workers."""
    sha = await _ci_on(scene, test_body=test_body)
    auto = await scene.gql(ENABLE_AUTO, {"input": {"app": "shop-staging", "branch": "main", "waitForCi": True}})
    assert auto["enableAutomaticDeploys"]["userErrors"] == []
    await scene.deliver("push", push_payload("main", sha))
    await scene.jobs.drain()
    return sha


def _ci_statuses(scene: GitHubScene, sha: str) -> list[dict[str, Any]]:
    return [
        sent.body
        for sent in scene.github.sent
        if sent.method == "POST" and sent.path.endswith(f"/statuses/{sha}") and sent.body["context"] == "pipegraph/ci"
    ]


async def test_a_push_is_tested_from_githubs_tarball_and_each_change_is_posted_to_the_commit(
    github_scene: GitHubScene,
) -> None:
    # given a pipeline connected to the repository, with CI on
    sha = await _ci_on(github_scene)

    # when GitHub tells of a push to main, and the workers run
    await github_scene.deliver("push", push_payload("main", sha, message="Add checkout"))
    await github_scene.jobs.drain()

    # then run #1 tested that commit, fetched from GitHub, and passed
    run = await TestRun.get(number=1)
    assert (run.status, run.commit_sha, run.commit_branch, run.commit_message, run.repository) == (
        TestRunStatus.SUCCEEDED,
        sha,
        "main",
        "Add checkout",
        REPO,
    )
    assert github_scene.github.requests("GET", f"/tarball/{sha}")
    # and the commit's pipegraph/ci status went from pending to success, each linking to the run
    statuses = _ci_statuses(github_scene, sha)
    assert statuses[0]["state"] == "pending"
    assert statuses[-1] | {"target_url": None} == {
        "state": "success",
        "context": "pipegraph/ci",
        "description": "#1: the tests passed",
        "target_url": None,
    }
    assert {status["state"] for status in statuses} == {"pending", "success"}
    assert {status["target_url"] for status in statuses} == {"http://testserver/pipelines/shop/tests/1"}
    assert github_scene.github.statuses[sha] == [{"context": "pipegraph/ci", "state": "success"}]


async def test_a_failing_run_is_a_failure_on_the_commit_and_a_run_by_hand_resolves_the_branch_on_github(
    github_scene: GitHubScene,
) -> None:
    sha = await _ci_on(github_scene, test_body='echo "1 failure"; exit 1')

    started = await github_scene.gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}})
    await github_scene.jobs.drain()

    assert started["createTestRun"]["testRun"]["commitSha"] == sha
    assert (await TestRun.get(number=1)).status == TestRunStatus.FAILED
    assert github_scene.github.statuses[sha] == [{"context": "pipegraph/ci", "state": "failure"}]
    assert _ci_statuses(github_scene, sha)[-1]["description"] == "#1: the tests failed"


async def test_a_commit_named_with_a_branch_is_tested_on_github_and_recorded_on_that_branch(
    github_scene: GitHubScene,
) -> None:
    # given main moved on past a first commit
    first = await _ci_on(github_scene)
    await github_scene.commit({"later.txt": "v2"})

    # when the first commit is tested, named with the branch it is to be recorded on
    started = await github_scene.gql(
        CREATE_TEST_RUN, {"input": {"pipeline": "shop", "commit": first, "branch": "checkout"}}
    )
    await github_scene.jobs.drain()

    # then that commit was tested (not the branch's head looked up on GitHub), recorded on that branch
    run = started["createTestRun"]["testRun"]
    assert (run["commitSha"], run["commitBranch"]) == (first, "checkout")
    assert (await TestRun.get(number=1)).status == TestRunStatus.SUCCEEDED
    assert github_scene.github.requests("GET", f"/tarball/{first}")


async def test_an_automatic_deploy_waiting_for_ci_deploys_once_pipegraphs_own_ci_passed(
    github_scene: GitHubScene,
) -> None:
    # given staging deployed automatically from main, waiting for CI, and CI on
    # when main is pushed, and the workers run (no other CI reports on the commit)
    sha = await _push_deployed_after_ci(github_scene, test_body='echo "tests pass"')

    # then the deploy waited for the run, and deployed the commit once its pipegraph/ci status was success
    state = await github_scene.gql(DEPLOYS)
    [deploy] = state["pipeline"]["deploys"]
    assert (deploy["sha"], deploy["status"]) == (sha, "SUCCEEDED")
    assert [
        (edge["node"]["version"], edge["node"]["slug"]["commit"]) for edge in state["app"]["releases"]["edges"]
    ] == [(1, sha)]
    run = await TestRun.get(number=1)
    assert run.status == TestRunStatus.SUCCEEDED
    assert run.finished_at is not None


async def test_an_automatic_deploy_waiting_for_ci_is_skipped_when_pipegraphs_own_ci_fails(
    github_scene: GitHubScene,
) -> None:
    await _push_deployed_after_ci(github_scene, test_body="exit 2")

    state = await github_scene.gql(DEPLOYS)
    [deploy] = state["pipeline"]["deploys"]
    assert deploy["status"] == "SKIPPED"
    assert "'pipegraph/ci' is failure" in deploy["message"]
    assert state["app"]["releases"]["edges"] == []


RUN_ACTOR = """
query { pipeline(name: "shop") { testRun(number: 1) { actor { email } githubActor } } }"""


async def test_a_run_from_a_github_push_shows_who_pushed_by_login_and_makes_no_user(
    github_scene: GitHubScene,
) -> None:
    sha = await _ci_on(github_scene)
    users = await User.all().count()

    # when octo-dev pushes main on GitHub
    await github_scene.deliver("push", push_payload("main", sha, sender={"login": "octo-dev", "id": 9}))
    await github_scene.jobs.drain()

    # then run #1 shows their GitHub login, and no pipegraph user stands for them
    run = (await github_scene.gql(RUN_ACTOR))["pipeline"]["testRun"]
    assert run == {"actor": None, "githubActor": "octo-dev"}
    assert await User.all().count() == users


RERUN_TEST_RUN = """
mutation($input: RerunTestRunInput!) {
  rerunTestRun(input: $input) { testRun { number commitSha commitBranch } userErrors { field message code } }
}"""


async def test_a_rerun_tests_the_same_commit_on_the_same_branch(github_scene: GitHubScene) -> None:
    # given run #1 of a push to a feature branch, tested from GitHub's tarball
    await _ci_on(github_scene)
    sha = await github_scene.commit({"checkout.txt": "v1"}, branch="checkout", message="Checkout")
    await github_scene.deliver("push", push_payload("checkout", sha))
    await github_scene.jobs.drain()
    first = await TestRun.get(number=1)
    assert (first.status, first.commit_branch) == (TestRunStatus.SUCCEEDED, "checkout")

    # when it is run again (a commit alone would be looked up again, and GitHub names no branch for it)
    rerun = (await github_scene.gql(RERUN_TEST_RUN, {"input": {"id": to_base64("TestRun", first.id)}}))["rerunTestRun"]
    await github_scene.jobs.drain()

    # then run #2 tested the same commit, recorded on the same branch, from the same repository
    assert rerun == {"testRun": {"number": 2, "commitSha": sha, "commitBranch": "checkout"}, "userErrors": []}
    second = await TestRun.get(number=2)
    assert (second.status, second.commit_branch, second.repository) == (TestRunStatus.SUCCEEDED, "checkout", REPO)
    assert [status["state"] for status in _ci_statuses(github_scene, sha)][-1] == "success"


async def test_a_rerun_is_refused_to_whoever_cannot_see_the_run_and_when_ci_is_off(github_scene: GitHubScene) -> None:
    # given run #1 of main
    sha = await _ci_on(github_scene)
    await github_scene.deliver("push", push_payload("main", sha))
    await github_scene.jobs.drain()
    run_id = to_base64("TestRun", (await TestRun.get(number=1)).id)

    # when a stranger reruns it, and its pipeline's admin once CI is off
    stranger = GraphQLClient(github_scene.http, await make_actor("mallory@example.com"))
    unseen = (await stranger(RERUN_TEST_RUN, {"input": {"id": run_id}}))["rerunTestRun"]
    disabled = await github_scene.gql('mutation { disableCi(input: {pipeline: "shop"}) { userErrors { code } } }')
    assert disabled["disableCi"]["userErrors"] == []
    off = (await github_scene.gql(RERUN_TEST_RUN, {"input": {"id": run_id}}))["rerunTestRun"]

    # then each is refused, saying why, and no run was made
    assert unseen["userErrors"] == [{"field": "id", "message": f"test run {run_id} not found", "code": "NOT_FOUND"}]
    assert off["userErrors"] == [
        {"field": "pipeline", "message": "pipeline shop does not have CI on: enableCi first", "code": "CI_NOT_ENABLED"}
    ]
    assert await TestRun.filter().count() == 1
