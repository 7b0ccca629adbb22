"""Test runs from real pushes: the real git client, a real app.json, the sandbox running its scripts, a real worker."""

from __future__ import annotations

import os
from pathlib import Path

from pipegraph.apps.models import App
from pipegraph.ci.models import TestNode, TestRun, TestRunStatus
from pipegraph.releases.models import Release
from pipegraph.settings import Settings
from tests.support.ci_scene import (
    CANCEL_TEST_RUN,
    SET_STAGE_CONFIG_VARS,
    TEST_RUNS,
    change,
    ci_pipeline,
    codes,
    new_tree,
    push,
    run_reaches,
    shop_tree,
)
from tests.support.clients import Actor, GraphQLClient
from tests.support.processes import gone, processes_running
from tests.support.servers import until


async def test_a_push_is_tested_with_app_json_the_test_config_vars_and_the_commits_facts(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given a pipeline with CI on, a TEST stage config var, and an app whose app.json has a test environment
    await ci_pipeline(gql)
    configured = await gql(
        SET_STAGE_CONFIG_VARS, {"input": {"pipeline": "shop", "stage": "TEST", "vars": {"SECRET": "s3"}}}
    )
    assert configured["setStageConfigVars"]["vars"] == {"SECRET": "s3"}
    body = (
        'echo "tests on $HEROKU_TEST_RUN_BRANCH at $HEROKU_TEST_RUN_COMMIT_VERSION CI=$CI $RAILS_ENV $GREETING $SECRET"'
    )
    tree = await new_tree(tmp_path / "shop", shop_tree(test_body=body), message="Add checkout")

    # when it is pushed to the app
    sha = await push(git_server, viewer.token, tree)

    # then the push deployed as ever, and run #1 tested that commit and passed
    assert await Release.filter(app__name="shop-staging").count() == 1
    run = await run_reaches(1)
    assert (run.status, run.commit_sha, run.commit_branch, run.commit_message) == (
        TestRunStatus.SUCCEEDED,
        sha,
        "main",
        "Add checkout",
    )
    data = await gql(TEST_RUNS, {"pipeline": "shop"})
    node = data["pipeline"]["testRuns"]["edges"][0]["node"]
    assert node["actor"] == {"email": "ada@example.com"}
    assert node["nodes"] == [{"index": 0, "status": "SUCCEEDED", "exitCode": 0}]
    assert node["startedAt"] is not None
    assert node["finishedAt"] is not None
    lines = node["output"].splitlines()
    # the build, then test-setup with the test environment's env, then the tests with every source of env
    assert "-----> Procfile app detected" in lines
    assert lines.index("setting up for test") < lines.index(f"tests on main at {sha} CI=true test hello s3")
    assert lines[-1] == "-----> test command `./bin/test` completed successfully"
    # and its CI app (an ephemeral app of the TEST stage) lived only as long as the run
    assert node["appName"] == "shop-ci-1"
    # (it goes just after the run's status is final: wait for it rather than race it)
    await until(lambda: _gone("shop-ci-1"), "the CI app shop-ci-1 removed once its run ended", seconds=30)


async def test_a_failing_test_fails_and_a_failing_setup_errors(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    await ci_pipeline(gql)
    tree = await new_tree(tmp_path / "shop", shop_tree(test_body='echo "1 example, 1 failure"; exit 3'))

    # a non-zero test is FAILED (Heroku's distinction), with its exit status
    await push(git_server, viewer.token, tree)
    failed = await run_reaches(1)
    node = await TestNode.get(test_run_id=failed.id)
    assert (failed.status, failed.message, node.exit_code) == (TestRunStatus.FAILED, "test exited with status 3", 3)
    assert "1 example, 1 failure" in node.output.splitlines()

    # a failing test-setup is ERRORED, and the tests never run
    await change(
        tree, shop_tree(setup="echo no database; exit 1", test_body="echo SHOULD-NOT-RUN"), message="Bad setup"
    )
    await push(git_server, viewer.token, tree)
    errored = await run_reaches(2)
    node = await TestNode.get(test_run_id=errored.id)
    assert (errored.status, errored.message) == (TestRunStatus.ERRORED, "test-setup exited with status 1")
    assert "no database" in node.output
    assert "SHOULD-NOT-RUN" not in node.output

    # a build that fails is ERRORED too
    await change(tree, {"app.json": "{not json"}, message="Broken app.json")
    await push(git_server, viewer.token, tree)
    broken = await run_reaches(3)
    assert broken.status == TestRunStatus.ERRORED
    assert (broken.message or "").startswith("app.json is not valid JSON")


async def test_cancel_kills_the_tests_process_group(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given a run whose tests hang, with a child process of their own
    await ci_pipeline(gql)
    marker = f"{300 + os.getpid() % 1000 / 1000:.3f}"  # an argument no other process on the host has
    tree = await new_tree(tmp_path / "shop", shop_tree(test_body=f"sleep {marker} & sleep {marker}; wait"))
    await push(git_server, viewer.token, tree)
    run = await run_reaches(1, TestRunStatus.RUNNING)
    await until(lambda: _running(marker), "the tests running")

    # when it is cancelled
    data = await gql(CANCEL_TEST_RUN, {"input": {"id": _global_id(run)}})

    # then it is CANCELLED at once, every process of it is killed, and its output so far is kept
    assert data["cancelTestRun"]["testRun"]["status"] == "CANCELLED"
    assert data["cancelTestRun"]["testRun"]["message"] == "cancelled by ada@example.com"
    assert await gone(marker, within=10)
    await until(_output_kept(run.id), "the cancelled node's output saved")
    again = await gql(CANCEL_TEST_RUN, {"input": {"id": _global_id(run)}})
    assert codes(again["cancelTestRun"]) == ["TEST_RUN_FINISHED"]


async def test_a_newer_push_to_the_branch_cancels_the_older_run(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    await ci_pipeline(gql)
    marker = f"{400 + os.getpid() % 1000 / 1000:.3f}"
    tree = await new_tree(tmp_path / "shop", shop_tree(test_body=f"sleep {marker}"))
    await push(git_server, viewer.token, tree)
    await run_reaches(1, TestRunStatus.RUNNING)

    await change(tree, shop_tree(test_body="echo fast"), message="Faster tests")
    await push(git_server, viewer.token, tree)

    older = await run_reaches(1)
    assert (older.status, older.message) == (TestRunStatus.CANCELLED, "superseded by #2, a newer push to main")
    assert await gone(marker, within=10)
    assert (await run_reaches(2)).status == TestRunStatus.SUCCEEDED


async def test_a_run_past_its_time_limit_errors(
    gql: GraphQLClient, viewer: Actor, settings: Settings, tmp_path: Path
) -> None:
    from dataclasses import replace

    from workers.runner import in_process_worker

    from tests.conftest import serve_app

    quick = replace(settings, test_run_timeout=3.0)
    marker = f"{500 + os.getpid() % 1000 / 1000:.3f}"
    async with serve_app(quick) as host, in_process_worker(quick):
        await ci_pipeline(gql)
        tree = await new_tree(tmp_path / "shop", shop_tree(test_body=f"sleep {marker}"))
        await push(host, viewer.token, tree)
        run = await run_reaches(1)
    assert (run.status, run.message) == (TestRunStatus.ERRORED, "the test run timed out after 3s, during test")
    assert await gone(marker)


async def _running(argument: str) -> bool:
    return bool(processes_running(argument))


def _output_kept(run_id: int):  # type: ignore[no-untyped-def]
    async def kept() -> bool:
        node = await TestNode.get(test_run_id=run_id)
        return "-----> Running test command `./bin/test`..." in node.output

    return kept


def _global_id(run: TestRun) -> str:
    from strawberry.relay import to_base64

    return to_base64("TestRun", run.id)


async def _gone(app: str) -> bool:
    return not await App.exists(name=app)
