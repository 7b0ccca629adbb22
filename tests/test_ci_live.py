"""Following CI live over a real WebSocket to a live server with a real worker: a run's log (what it printed so far,
then each line), and its status changes in `pipelineEvents`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from strawberry.relay import to_base64

from pipegraph.ci.models import TestRun, TestRunStatus
from tests.support.ci_scene import CANCEL_TEST_RUN, TEST_LOG, ci_pipeline, new_tree, push, run_reaches, shop_tree
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.ws_client import TRANSPORT_WS, SubscriptionError, subscribe

EVENTS = """
subscription($pipeline: String!) {
  pipelineEvents(pipeline: $pipeline, kinds: [TEST_RUN]) {
    kind promotion { id } testRun { number status commitBranch }
  }
}"""
PATIENCE_SECONDS = 30


def _follow(host: str, actor: Actor, query: str, variables: dict[str, Any]) -> Any:
    init = {"Authorization": f"Bearer {actor.token}"}
    return subscribe(host, query, variables, protocol=TRANSPORT_WS, init_payload=init)


async def _lines(host: str, actor: Actor, run_id: int) -> list[tuple[int, str]]:
    stream = _follow(host, actor, TEST_LOG, {"id": to_base64("TestRun", run_id)})
    return [(data["testRunLog"]["number"], data["testRunLog"]["text"]) async for data in stream]


async def test_a_runs_log_streams_live_and_a_late_subscriber_gets_it_all_from_the_first_line(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given a run whose tests print, pause and print again
    await ci_pipeline(gql)
    body = 'echo "first half"; sleep 2; echo "second half"'
    tree = await new_tree(tmp_path / "shop", shop_tree(test_body=body))
    await push(git_server, viewer.token, tree)
    run = await run_reaches(1, TestRunStatus.RUNNING)

    # when one page follows its log as it runs, and another joins once the first line came
    async with asyncio.timeout(PATIENCE_SECONDS):
        early = asyncio.ensure_future(_lines(git_server, viewer, run.id))
        late = await _lines(git_server, viewer, run.id)
        early_lines = await early

    # then both got every line once, in order, numbered from 1, ending with the outcome, and the saved output agrees
    assert early_lines == late
    assert [number for number, _ in late] == list(range(1, len(late) + 1))
    texts = [text for _, text in late]
    assert texts.index("first half") < texts.index("second half")
    assert texts[-1] == "-----> test command `./bin/test` completed successfully"
    finished = await run_reaches(1)
    after = await _lines(git_server, viewer, run.id)
    assert after == late
    assert finished.status == TestRunStatus.SUCCEEDED


async def test_pipeline_events_carry_a_runs_status_changes(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given a page following the pipeline, and a push whose tests run until they are cancelled
    await ci_pipeline(gql)
    tree = await new_tree(tmp_path / "shop", shop_tree(test_body="sleep 300"))
    stream = _follow(git_server, viewer, EVENTS, {"pipeline": "shop"})
    first = asyncio.ensure_future(anext(stream))
    await push(git_server, viewer.token, tree)

    # when the page hears the run go (unfinished when it subscribed, or as news), and it is then cancelled
    seen: list[str] = []
    async with asyncio.timeout(PATIENCE_SECONDS):
        event = (await first)["pipelineEvents"]
        while True:
            assert (event["kind"], event["promotion"]) == ("TEST_RUN", None)
            assert (event["testRun"]["number"], event["testRun"]["commitBranch"]) == (1, "main")
            seen.append(event["testRun"]["status"])
            if seen[-1] == "RUNNING":
                run = await TestRun.get(number=1)
                await gql(CANCEL_TEST_RUN, {"input": {"id": to_base64("TestRun", run.id)}})
            if seen[-1] == "CANCELLED":
                break
            event = (await anext(stream))["pipelineEvents"]
    await stream.aclose()

    # then it heard each status at most once, in the order a run goes through them, up to the end
    order = ["PENDING", "CREATING", "BUILDING", "RUNNING", "CANCELLED"]
    assert seen == sorted(set(seen), key=order.index)
    assert seen[-2:] == ["RUNNING", "CANCELLED"]


@pytest.mark.parametrize("run", ["theirs", "none"])
async def test_a_stranger_cannot_follow_a_runs_log(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path, run: str
) -> None:
    await ci_pipeline(gql)
    await push(git_server, viewer.token, await new_tree(tmp_path / "shop", shop_tree()))
    finished = await run_reaches(1)
    stranger = await make_actor("mallory@example.com")
    run_id = finished.id if run == "theirs" else finished.id + 1000

    with pytest.raises(SubscriptionError) as refused:
        await _lines(git_server, stranger, run_id)

    assert f"test run {run_id} not found" in str(refused.value)
    assert await TestRun.exists(id=finished.id)
