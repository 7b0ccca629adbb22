"""Subscriptions over a real WebSocket to a live server, in both protocols, with a real worker making the news."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from workers.runner import in_process_worker

from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.sandbox import expected_log
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, SubscriptionError, subscribe

PROGRESS = """
subscription($id: ID!) {
  promotionProgress(id: $id) {
    target { app { name } }
    status step errorMessage sequence
    release { version }
  }
}"""

RELEASE_LOG = """
subscription($id: ID!) { releaseLog(releaseId: $id) { number text } }
"""

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
ALL_STEPS = ["QUEUED", "QUEUED", "COPYING_SLUG", "UPDATING_STACK", "RELEASE_PHASE", "DONE"]


def _auth(actor: Actor, protocol: str) -> dict[str, Any]:
    # Both accepted forms, one per protocol, so each is exercised.
    return {"Authorization": f"Bearer {actor.token}"} if protocol == TRANSPORT_WS else {"token": actor.token}


async def _progress(host: str, promotion_id: str, actor: Actor, protocol: str) -> AsyncIterator[dict[str, Any]]:
    async for data in subscribe(
        host, PROGRESS, {"id": promotion_id}, protocol=protocol, init_payload=_auth(actor, protocol)
    ):
        yield data["promotionProgress"]


def _steps_by_app(events: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    by_app: dict[str, list[tuple[str, str]]] = {}
    for event in events:
        by_app.setdefault(event["target"]["app"]["name"], []).append((event["status"], event["step"]))
    return by_app


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_progress_sends_the_state_then_every_change_then_completes(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str, protocol: str
) -> None:
    # given a promotion to two apps, not yet worked on
    await shop_pipeline(gql)
    await deploy_release_script(gql, app="shop-staging", script="echo migrating\n")
    await jobs.drain()
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]

    # when a subscriber joins, and a worker starts once it has the current state
    stream = _progress(live_server, promotion_id, gql.actor, protocol)
    events = [await anext(stream), await anext(stream)]
    async with in_process_worker(settings):
        events += [event async for event in stream]

    # then it saw both targets queued, then each step of each in order, and the subscription ended by itself
    assert [(e["target"]["app"]["name"], e["step"]) for e in events[:2]] == [
        ("shop-admin", "QUEUED"),
        ("shop-prod-eu", "QUEUED"),
    ]
    by_app = _steps_by_app(events)
    for name in ("shop-admin", "shop-prod-eu"):
        assert [step for _, step in by_app[name]] == ALL_STEPS
        assert [status for status, _ in by_app[name]][:2] == ["PENDING", "RUNNING"]
        assert by_app[name][-1] == ("SUCCEEDED", "DONE")
    final = [event for event in events if event["step"] == "DONE"]
    assert all(event["release"] == {"version": 1} for event in final)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_late_subscriber_gets_the_final_state_and_completion(
    gql: GraphQLClient, jobs: JobRunner, live_server: str, protocol: str
) -> None:
    # given a promotion that already completed, one target failing
    await shop_pipeline(gql)
    await gql("""mutation { setConfigVars(input: {app: "shop-admin", vars: {FAIL: "1"}}) { userErrors { code } } }""")
    await deploy_release_script(gql, app="shop-staging", script='[ -z "$FAIL" ]\n')
    await jobs.drain()
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    await jobs.drain()

    # when a subscriber joins afterwards
    events = [event async for event in _progress(live_server, promotion_id, gql.actor, protocol)]

    # then it misses nothing of the outcome and the subscription completes at once
    assert [(e["target"]["app"]["name"], e["status"], e["step"], e["errorMessage"]) for e in events] == [
        ("shop-admin", "FAILED", "DONE", "release command exited with status 1"),
        ("shop-prod-eu", "SUCCEEDED", "DONE", None),
    ]


async def test_a_subscriber_joining_midway_misses_nothing(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str
) -> None:
    # given a promotion whose release phase is running
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy_release_script(gql, app="shop-staging", script='[ "$DYNO" = release.1 ] && sleep 1\n')
    await jobs.drain()
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    async with in_process_worker(settings):
        early = [event async for event in _progress(live_server, promotion_id, gql.actor, TRANSPORT_WS)]
        # when another subscriber joins while it runs (the first one has seen it all by now)
        late = [event async for event in _progress(live_server, promotion_id, gql.actor, TRANSPORT_WS)]

    # then the early one saw every step and the late one the final state, both ending on the same outcome
    assert [event["step"] for event in early][-1] == "DONE"
    assert late[-1] == early[-1]
    assert late[-1]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_release_log_streams_lines_live_and_stays_queryable(
    gql: GraphQLClient, settings: Settings, live_server: str, protocol: str
) -> None:
    # given a deploy whose release phase prints lines over a while
    await shop_pipeline(gql, production=())
    release = await deploy_release_script(
        gql, app="shop-staging", script="echo one\nsleep 0.2\necho two >&2\nsleep 0.2\necho three\n"
    )

    # when a subscriber follows its log while a worker runs it
    async def lines() -> list[tuple[int, str]]:
        return [
            (data["releaseLog"]["number"], data["releaseLog"]["text"])
            async for data in subscribe(
                live_server,
                RELEASE_LOG,
                {"id": release["id"]},
                protocol=protocol,
                init_payload=_auth(gql.actor, protocol),
            )
        ]

    follower = asyncio.create_task(lines())
    async with in_process_worker(settings):
        streamed = await follower

    # then every line arrived in order, and the same log is on the release afterwards
    assert streamed == list(enumerate(expected_log("one", "two", "three"), start=1))
    data = await gql("query($id: ID!) { node(id: $id) { ... on Release { status log } } }", {"id": release["id"]})
    assert data["node"] == {"status": "SUCCEEDED", "log": "\n".join(expected_log("one", "two", "three"))}
    # and a subscriber arriving after the end gets the saved log at once
    assert await lines() == streamed


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websocket_without_a_valid_token_is_rejected(gql: GraphQLClient, live_server: str, protocol: str) -> None:
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging")
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    with pytest.raises((SubscriptionError, websockets.ConnectionClosed)):
        async for _ in subscribe(
            live_server, PROGRESS, {"id": promotion_id}, protocol=protocol, init_payload={"token": "pgt_wrong"}
        ):
            pass


async def test_many_subscribers_of_one_promotion_each_get_every_change(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str
) -> None:
    # given a promotion to two apps, and ten subscribers in both protocols, all in before any worker starts
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    streams = [_progress(live_server, promotion_id, gql.actor, PROTOCOLS[n % 2]) for n in range(10)]
    snapshots = [[await anext(stream), await anext(stream)] for stream in streams]

    # when a worker runs it
    async def rest(stream: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
        return [event async for event in stream]

    async with in_process_worker(settings):
        rests = await asyncio.gather(*(rest(stream) for stream in streams))

    # then all ten saw the very same complete sequence (one shared stream reader serves them all)
    seen = [snapshot + rest for snapshot, rest in zip(snapshots, rests, strict=True)]
    assert all(events == seen[0] for events in seen)
    by_app = _steps_by_app(seen[0])
    assert [step for _, step in by_app["shop-admin"]] == ALL_STEPS
    assert [step for _, step in by_app["shop-prod-eu"]] == ALL_STEPS


@pytest.mark.parametrize(
    ("query", "type_name", "field"),
    [(PROGRESS, "Promotion", "id"), (RELEASE_LOG, "Release", "releaseId")],
    ids=["promotionProgress", "releaseLog"],
)
@pytest.mark.parametrize("key", ["²", "9" * 25], ids=["superscript-two", "25-nines"])
async def test_an_id_whose_key_no_row_can_have_is_not_found(
    gql: GraphQLClient, live_server: str, query: str, type_name: str, field: str, key: str
) -> None:
    # given a global ID of the right type whose key is no number a row can have
    global_id = base64.b64encode(f"{type_name}:{key}".encode()).decode()

    # when it is subscribed to
    with pytest.raises(SubscriptionError) as refused:
        async for _ in subscribe(
            live_server, query, {"id": global_id}, protocol=TRANSPORT_WS, init_payload=_auth(gql.actor, TRANSPORT_WS)
        ):
            pass

    # then it is not found, naming what was sent, as for one that does not exist (not a masked internal error)
    [error] = refused.value.args[0]
    assert error["message"] == f"{type_name.lower()} {key} not found"
