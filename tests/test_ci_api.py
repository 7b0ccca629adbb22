"""createTestRun by branch or commit from the apps' own repositories, its refusals, and who may do what (the seed's
CI rows: View tests, Create CI apps, Enable CI, Cancel CI runs)."""

from __future__ import annotations

from pathlib import Path

import httpx

from pipegraph.ci.models import TestRun, TestRunStatus
from tests.support.ci_scene import (
    CANCEL_TEST_RUN,
    CREATE_TEST_RUN,
    DISABLE_CI,
    ENABLE_CI,
    SET_STAGE_CONFIG_VARS,
    TEST_RUNS,
    codes,
    new_tree,
    push,
    run_reaches,
    shop_tree,
)
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import create_app, create_pipeline
from tests.support.team_scene import actor, add_member, create_team, team_app, team_pipeline
from tests.test_pipeline_access import GRANT


async def _pushed_pipeline(gql: GraphQLClient, host: str, token: str, tmp_path: Path) -> str:
    """A pipeline whose staging app has one pushed commit, with CI turned on after that push."""
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging", stage="STAGING")
    tree = await new_tree(tmp_path / "shop", shop_tree(), message="Add checkout")
    return await push(host, token, tree)


async def test_a_branch_or_a_commit_of_the_pipelines_apps_is_tested_by_hand(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    sha = await _pushed_pipeline(gql, git_server, viewer.token, tmp_path)
    # CI off: nothing to run yet, and the push started none
    off = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}})
    assert codes(off["createTestRun"]) == ["CI_NOT_ENABLED"]
    assert not await TestRun.exists()
    await gql(ENABLE_CI, {"input": {"pipeline": "shop"}})

    by_branch = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}})
    by_commit = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "commit": sha[:10]}})

    assert by_branch["createTestRun"]["testRun"] | {"id": None} == {
        "id": None,
        "number": 1,
        "status": "PENDING",
        "commitSha": sha,
        "commitBranch": "main",
    }
    assert by_commit["createTestRun"]["testRun"]["commitSha"] == sha
    # the same branch's older run was superseded by the newer one, which passed from the tree the worker archived
    first, second = await run_reaches(1), await run_reaches(2)
    assert (first.status, second.status) == (TestRunStatus.CANCELLED, TestRunStatus.SUCCEEDED)
    assert second.source_id is not None
    data = await gql(TEST_RUNS, {"pipeline": "shop"})
    assert [edge["node"]["number"] for edge in data["pipeline"]["testRuns"]["edges"]] == [2, 1]
    assert data["pipeline"]["testRuns"]["edges"][0]["node"]["commitMessage"] == "Add checkout"

    # and a commit named with a branch (ci:run in a work tree names the branch checked out) is recorded on that
    # branch, not on the branch of the apps' repositories holding it (main): its run supersedes none of main's
    on_branch = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "commit": sha[:10], "branch": "checkout"}})
    assert on_branch["createTestRun"]["testRun"] | {"id": None} == {
        "id": None,
        "number": 3,
        "status": "PENDING",
        "commitSha": sha,
        "commitBranch": "checkout",
    }
    assert (await run_reaches(3)).status == TestRunStatus.SUCCEEDED
    assert (await TestRun.get(number=2)).status == TestRunStatus.SUCCEEDED


async def test_refusals_name_what_was_wrong_and_start_nothing(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    await _pushed_pipeline(gql, git_server, viewer.token, tmp_path)
    await gql(ENABLE_CI, {"input": {"pipeline": "shop", "cancelSupersededRuns": False}})

    both = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main", "commit": "abc1234"}})
    neither = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop"}})
    branch = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "nope"}})
    commit = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "commit": "0123456789abcdef"}})
    pipeline = await gql(CREATE_TEST_RUN, {"input": {"pipeline": "nowhere", "branch": "main"}})
    stage = await gql(SET_STAGE_CONFIG_VARS, {"input": {"pipeline": "shop", "stage": "STAGING", "vars": {"A": "1"}}})

    assert codes(neither["createTestRun"]) == ["INVALID"]
    assert both["createTestRun"]["userErrors"] == [
        {
            "field": "commit",
            "message": "no repository of pipeline shop has commit abc1234: push it to one of its apps first",
            "code": "COMMIT_NOT_FOUND",
        }
    ]
    assert branch["createTestRun"]["userErrors"] == [
        {
            "field": "branch",
            "message": "no repository of pipeline shop has branch nope: push it to one of its apps first",
            "code": "COMMIT_NOT_FOUND",
        }
    ]
    assert codes(commit["createTestRun"]) == ["COMMIT_NOT_FOUND"]
    assert codes(pipeline["createTestRun"]) == ["NOT_FOUND"]
    assert codes(stage["setStageConfigVars"]) == ["INVALID_STAGE"]
    assert not await TestRun.exists()
    # and with superseding off, two runs of one branch both go on
    await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}})
    await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}})
    assert {(await run_reaches(n)).status for n in (1, 2)} == {TestRunStatus.SUCCEEDED}
    disabled = await gql(DISABLE_CI, {"input": {"pipeline": "shop"}})
    assert disabled["disableCi"]["ci"] == {"enabled": False}


async def test_who_may_enable_ci_run_tests_cancel_them_and_see_them(
    client: httpx.AsyncClient, gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given ada's pipeline, and pipeline access for others: operate (bob), manage (carol), view (dave), none (eve)
    sha = await _pushed_pipeline(gql, git_server, viewer.token, tmp_path)
    people = {name: await actor(client, f"{name}@example.com") for name in ("bob", "carol", "dave", "eve")}
    for name, permissions in (("bob", ["VIEW", "OPERATE"]), ("carol", ["MANAGE"]), ("dave", ["VIEW"])):
        granted = await gql(
            GRANT, {"input": {"pipeline": "shop", "user": f"{name}@example.com", "permissions": permissions}}
        )
        assert granted["grantPipelineAccess"]["userErrors"] == []

    async def enable(who: GraphQLClient) -> list[str]:
        return codes((await who(ENABLE_CI, {"input": {"pipeline": "shop"}}))["enableCi"])

    async def run(who: GraphQLClient) -> list[str]:
        return codes((await who(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "commit": sha}}))["createTestRun"])

    # Enable CI: manage only
    assert await enable(people["eve"]) == ["NOT_FOUND"]
    assert await enable(people["dave"]) == ["FORBIDDEN"]
    assert await enable(people["bob"]) == ["FORBIDDEN"]
    assert await enable(people["carol"]) == []
    # Create CI apps (a run makes one): operate or manage, as the seed's table says
    assert await run(people["eve"]) == ["NOT_FOUND"]
    assert await run(people["dave"]) == ["FORBIDDEN"]
    assert await run(people["bob"]) == []
    # Cancel CI runs: manage only; the run's own starter with operate may not either
    started = await TestRun.get(number=1)
    from strawberry.relay import to_base64

    run_id = to_base64("TestRun", started.id)

    async def cancel(who: GraphQLClient) -> list[str]:
        return codes((await who(CANCEL_TEST_RUN, {"input": {"id": run_id}}))["cancelTestRun"])

    assert await cancel(people["eve"]) == ["NOT_FOUND"]
    assert await cancel(people["bob"]) == ["FORBIDDEN"]
    assert await cancel(people["carol"]) in ([], ["TEST_RUN_FINISHED"])  # it may have passed already


async def test_team_members_run_tests_but_only_admins_enable_ci(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    # given a Heroku Team pipeline: ada its admin, bob a member (auto-join gives members view, deploy, operate)
    bob = await actor(client, "bob@example.com")
    await create_team(gql, name="acme")
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")
    await team_app(gql, name="shop-staging", team="acme")
    await team_pipeline(gql, name="shop", app="shop-staging", team="acme")

    refused = await bob(ENABLE_CI, {"input": {"pipeline": "shop"}})
    allowed = await gql(ENABLE_CI, {"input": {"pipeline": "shop"}})
    # a member may start a run (nothing pushed yet: the refusal is about the commit, not the right)
    tried = await bob(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}})

    assert codes(refused["enableCi"]) == ["FORBIDDEN"]
    assert allowed["enableCi"]["ci"] == {"enabled": True, "cancelSupersededRuns": True}
    assert codes(tried["createTestRun"]) == ["COMMIT_NOT_FOUND"]
    # and he sees the pipeline's (empty) test runs, as anyone who sees the pipeline does
    assert (await bob(TEST_RUNS, {"pipeline": "shop"}))["pipeline"]["testRuns"]["edges"] == []
