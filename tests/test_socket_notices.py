"""Access notices and shared event results, against a live server: subscribers with one selection share its execution
but each gets what their own rights show; a revoked token's socket gets nothing written after the revoke returned, in
both protocols; and a process that lost the notices finds what it missed in the database on reconnecting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from strawberry import relay
from workers.runner import in_process_worker

from pipegraph.accounts.service import revoke_token
from pipegraph.settings import Settings
from pipegraph.streams.notices import LISTENER_NAME, channel
from tests.support.clients import GraphQLClient
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.team_scene import actor
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, closed, connect, init, receive, start

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]

WATCH = """
subscription($id: ID!) {
  promotionProgress(id: $id) { target { app { name viewerPermissions } updatedAt } step sequence }
}"""
# What the two tests of what a socket stops getting follow: WATCH, which graphql-core executes event by event, and a
# selection of plain values, whose batches are sent as one result (api/event_batches.py).
SELECTIONS = {
    "executed": WATCH,
    "planned": "subscription($id: ID!) { promotionProgress(id: $id) { target { updatedAt } step sequence } }",
}

CREATE_TOKEN = """
mutation { createApiToken(input: {description: "socket"}) { token apiToken { id } userErrors { code } } }"""

REVOKE_TOKEN = """
mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { code } } }"""

ADD_COLLABORATOR = """
mutation($input: AddAppCollaboratorInput!) { addAppCollaborator(input: $input) { userErrors { code } } }"""

BOB = "bob@example.com"


async def until_listening(settings: Settings) -> None:
    """Until the live server's process hears access notices (so its sockets check in memory)."""
    redis = Redis.from_url(settings.redis_url or "")
    try:
        for _ in range(500):
            if dict(await redis.pubsub_numsub(channel(redis))).get(channel(redis).encode()):
                await asyncio.sleep(0.2)  # subscribed; its first re-check of the open sockets follows at once
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the live server never listened to access notices")
    finally:
        await redis.aclose()


async def promotion_to(gql: GraphQLClient, jobs: JobRunner, apps: tuple[str, ...], *, script: str) -> str:
    await shop_pipeline(gql, production=apps)
    await deploy_release_script(gql, app="shop-staging", script=script)
    await jobs.drain()
    promotion_id: str = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    return promotion_id


async def promotion_bob_half_sees(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner
) -> tuple[str, GraphQLClient]:
    """A promotion to shop-admin and shop-prod-eu, and bob, a VIEW collaborator on shop-prod-eu only."""
    promotion_id = await promotion_to(gql, jobs, ("shop-admin", "shop-prod-eu"), script="echo migrating\n")
    bob = await actor(client, BOB)
    data = await gql(ADD_COLLABORATOR, {"input": {"app": "shop-prod-eu", "user": BOB, "permissions": ["VIEW"]}})
    assert data["addAppCollaborator"]["userErrors"] == []
    return promotion_id, bob


async def second_token(gql: GraphQLClient) -> tuple[str, str]:
    """Another token of the viewer: its secret and its global ID."""
    payload = (await gql(CREATE_TOKEN))["createApiToken"]
    return payload["token"], payload["apiToken"]["id"]


@asynccontextmanager
async def watching(
    host: str, protocol: str, token: str, promotion_id: str, document: str = WATCH
) -> AsyncIterator[Any]:
    """A socket signed in with `token`, subscribed to the promotion with WATCH (or `document`)."""
    async with connect(host, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {token}"})
        assert (await receive(ws))["type"] == "connection_ack"
        await start(ws, protocol, document, {"id": promotion_id})
        yield ws


async def events_until_complete(ws: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        message = await receive(ws)
        if message["type"] == "complete":
            return events
        assert message["type"] in ("next", "data"), message
        assert "errors" not in message["payload"], message
        events.append(message["payload"]["data"]["promotionProgress"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_one_selection_under_different_rights_shows_each_subscriber_what_they_may_see(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner, settings: Settings, live_server: str, protocol: str
) -> None:
    # given the pipeline's owner (twice) and bob, a VIEW collaborator on one of the two targets, following one
    # promotion with the same document and variables
    promotion_id, bob = await promotion_bob_half_sees(gql, client, jobs)
    await until_listening(settings)
    tokens = {"owner": gql.actor.token, "owner-again": gql.actor.token, "bob": bob.actor.token}
    async with AsyncExitStack() as stack:
        sockets = {
            name: await stack.enter_async_context(watching(live_server, protocol, token, promotion_id))
            for name, token in tokens.items()
        }

        # when the promotion runs
        async with in_process_worker(settings):
            seen = dict(
                zip(sockets, await asyncio.gather(*(events_until_complete(ws) for ws in sockets.values())), strict=True)
            )

    # then the owner's sockets got every change of both targets, with the owner's permissions, in order
    everything = {"VIEW", "DEPLOY", "OPERATE", "MANAGE"}
    for name in ("owner", "owner-again"):
        apps = {event["target"]["app"]["name"] for event in seen[name]}
        assert apps == {"shop-admin", "shop-prod-eu"}
        assert all(set(event["target"]["app"]["viewerPermissions"]) == everything for event in seen[name])
        assert [event["step"] for event in seen[name]].count("DONE") == 2
    for name, events in seen.items():
        for app in ("shop-admin", "shop-prod-eu"):
            sequences = [event["sequence"] for event in events if event["target"]["app"]["name"] == app]
            assert sequences == sorted(set(sequences)), (name, app, sequences)
    # and bob, with the same selection, only the target he sees, to its end, with his own permissions on it
    assert {event["target"]["app"]["name"] for event in seen["bob"]} == {"shop-prod-eu"}
    assert seen["bob"][-1]["step"] == "DONE"
    assert all(event["target"]["app"]["viewerPermissions"] == ["VIEW"] for event in seen["bob"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("selection", SELECTIONS)
async def test_a_token_revoked_mid_burst_gets_nothing_written_after_the_revoke_returned(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str, protocol: str, selection: str
) -> None:
    # given a promotion to eight apps, whose targets keep changing for a while, followed with a second token
    apps = tuple(f"shop-prod-{number}" for number in range(8))
    promotion_id = await promotion_to(gql, jobs, apps, script="sleep 2\necho done\n")
    secret, token_id = await second_token(gql)
    await until_listening(settings)
    following = watching(live_server, protocol, secret, promotion_id, SELECTIONS[selection])
    async with following as ws, in_process_worker(settings):
        # when the token is revoked while the burst is under way
        while (await receive(ws))["payload"]["data"]["promotionProgress"]["step"] == "QUEUED":
            pass
        revoked = await gql(REVOKE_TOKEN, {"id": token_id})
        returned = time.time()
        assert revoked["revokeApiToken"]["userErrors"] == []
        code, reason, sent = await closed(ws)
        # (the burst went on after the revoke: there was something to withhold)
        await _until_changed_since(gql, promotion_id, returned)

    # then the socket was closed as unauthorized, and nothing written after the revoke returned reached it
    assert (code, reason) == (4401, "API token revoked")
    written = [
        datetime.fromisoformat(message["payload"]["data"]["promotionProgress"]["target"]["updatedAt"]).timestamp()
        for message in sent
        if message["type"] in ("next", "data")
    ]
    assert all(at < returned for at in written), (written, returned)


async def _until_changed_since(gql: GraphQLClient, promotion_id: str, moment: float) -> None:
    """Until a target of the promotion changed after `moment` (fails if none does within 10 s)."""
    query = "query($id: ID!) { node(id: $id) { ... on Promotion { targets { updatedAt } } } }"
    for _ in range(200):
        data = await gql(query, {"id": promotion_id})
        if any(datetime.fromisoformat(t["updatedAt"]).timestamp() > moment for t in data["node"]["targets"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no target changed after that moment")


async def test_a_revocation_missed_while_notices_were_lost_is_found_on_reconnecting(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str
) -> None:
    # given a socket following a promotion on a server that hears access notices
    promotion_id = await promotion_to(gql, jobs, ("shop-prod-eu",), script="echo migrating\n")
    secret, token_id = await second_token(gql)
    await until_listening(settings)
    async with watching(live_server, TRANSPORT_WS, secret, promotion_id) as ws:
        assert (await receive(ws))["payload"]["data"]["promotionProgress"]["step"] == "QUEUED"

        # when its notices' connection drops, and meanwhile the token is revoked with no notice at all (as a process
        # that does not know this Redis would)
        await _drop_listeners(settings)
        await revoke_token(int(relay.GlobalID.from_id(token_id).node_id))

        # then the server finds it on reconnecting, well before its periodic re-check, and closes the socket
        started = time.monotonic()
        code, reason, sent = await closed(ws)
        assert time.monotonic() - started < 5
    assert (code, reason) == (4401, "API token revoked")
    assert sent == []

    # and the notices work again: another token of a fresh socket is stopped at once by its revoke
    secret, token_id = await second_token(gql)
    await until_listening(settings)
    async with watching(live_server, TRANSPORT_WS, secret, promotion_id) as ws:
        assert (await receive(ws))["payload"]["data"]["promotionProgress"]["step"] == "QUEUED"
        await gql(REVOKE_TOKEN, {"id": token_id})
        code, reason, sent = await closed(ws)
    assert (code, reason, sent) == (4401, "API token revoked", [])


async def _drop_listeners(settings: Settings) -> None:
    """Kill the access-notice connections of this test's Redis database (no other's)."""
    redis = Redis.from_url(settings.redis_url or "")
    try:
        db = redis.connection_pool.connection_kwargs.get("db", 0)
        clients = await redis.client_list()
        doomed = [c["id"] for c in clients if c.get("name") == LISTENER_NAME and int(c.get("db", -1)) == db]
        assert doomed, "no access-notice listener to drop"
        for client_id in doomed:
            await redis.client_kill_filter(_id=client_id)
    finally:
        await redis.aclose()


async def test_a_collaborator_added_mid_subscription_sees_the_app_from_its_next_event(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner, settings: Settings, live_server: str
) -> None:
    # given bob, who sees one of the promotion's two targets, following it on a server that keeps his rights
    promotion_id, bob = await promotion_bob_half_sees(gql, client, jobs)
    await until_listening(settings)
    async with watching(live_server, TRANSPORT_WS, bob.actor.token, promotion_id) as ws:
        first = (await receive(ws))["payload"]["data"]["promotionProgress"]
        assert first["target"]["app"]["name"] == "shop-prod-eu"

        # when he is added to the other app too, and then the promotion runs
        data = await gql(ADD_COLLABORATOR, {"input": {"app": "shop-admin", "user": BOB, "permissions": ["DEPLOY"]}})
        assert data["addAppCollaborator"]["userErrors"] == []
        async with in_process_worker(settings):
            events = await events_until_complete(ws)

    # then the other app's changes reach him too, with the permissions he now has on it
    admin = [event for event in events if event["target"]["app"]["name"] == "shop-admin"]
    assert admin
    assert admin[-1]["step"] == "DONE"
    assert all(set(event["target"]["app"]["viewerPermissions"]) == {"VIEW", "DEPLOY"} for event in admin)


REMOVE_COLLABORATOR = """
mutation($input: RemoveAppCollaboratorInput!) { removeAppCollaborator(input: $input) { userErrors { code } } }"""


REMOVE_APP = """
mutation($input: RemoveAppFromPipelineInput!) { removeAppFromPipeline(input: $input) { userErrors { code } } }"""
# Two ways bob loses sight of the pipeline: his rights change (a notice), or the pipeline's apps do (a row).
LOSING_SIGHT = {
    "collaborator-removed": (REMOVE_COLLABORATOR, {"app": "shop-prod-eu", "user": BOB}),
    "app-left-the-pipeline": (REMOVE_APP, {"app": "shop-prod-eu"}),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("change", LOSING_SIGHT)
@pytest.mark.parametrize("selection", SELECTIONS)
async def test_one_who_lost_sight_between_two_batches_gets_nothing_of_the_second(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    jobs: JobRunner,
    settings: Settings,
    live_server: str,
    protocol: str,
    change: str,
    selection: str,
) -> None:
    # given bob, who sees the pipeline only as a collaborator on the promotion's target, following it on a server that
    # keeps his rights in memory, and a release phase that keeps the target busy between two batches of its changes
    promotion_id = await promotion_to(gql, jobs, ("shop-prod-eu",), script="sleep 2\necho done\n")
    bob = await actor(client, BOB)
    data = await gql(ADD_COLLABORATOR, {"input": {"app": "shop-prod-eu", "user": BOB, "permissions": ["VIEW"]}})
    assert data["addAppCollaborator"]["userErrors"] == []
    await until_listening(settings)
    following = watching(live_server, protocol, bob.actor.token, promotion_id, SELECTIONS[selection])
    async with following as ws, in_process_worker(settings):
        # when, once a first batch of the stream reached him, he is removed from the app, or the app from the pipeline
        while True:
            message = await receive(ws)
            assert message["type"] in ("next", "data"), message
            if message["payload"]["data"]["promotionProgress"]["sequence"] > 0:
                break
        document, input = LOSING_SIGHT[change]
        removed = await gql(document, {"input": input})
        returned = time.time()
        assert next(iter(removed.values()))["userErrors"] == []
        after: list[dict[str, Any]] = []
        while (message := await receive(ws))["type"] != "complete":
            after.append(message)
        # (the target went on changing after that: there was something to withhold)
        await _until_changed_since(gql, promotion_id, returned)

    # then nothing written after the change returned reached him: the subscription ended as if the promotion did not
    # exist, at the latest with the next batch
    key = relay.GlobalID.from_id(promotion_id).node_id
    assert after, "the subscription ended without saying why"
    assert after[-1]["payload"] == {"data": None, "errors": [{"message": f"promotion {key} not found"}]}
    written = [
        datetime.fromisoformat(message["payload"]["data"]["promotionProgress"]["target"]["updatedAt"]).timestamp()
        for message in after[:-1]
    ]
    assert all(at < returned for at in written), (written, returned)


TARGETS = "query($id: ID!) { node(id: $id) { ... on Promotion { targets { id app { name } } } } }"
PLANNED_WITH_IDS = "subscription($id: ID!) { promotionProgress(id: $id) { target { id updatedAt } step sequence } }"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_events_made_once_for_a_planned_selection_still_go_only_where_rights_show_them(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner, settings: Settings, live_server: str, protocol: str
) -> None:
    # given the owner and bob, a VIEW collaborator on one of the two targets, following one promotion with a planned
    # selection (each burst's events made once for both sockets: api/event_batches.py)
    promotion_id, bob = await promotion_bob_half_sees(gql, client, jobs)
    targets = (await gql(TARGETS, {"id": promotion_id}))["node"]["targets"]
    target_of = {target["app"]["name"]: target["id"] for target in targets}
    await until_listening(settings)
    tokens = {"owner": gql.actor.token, "bob": bob.actor.token}
    async with AsyncExitStack() as stack:
        sockets = {
            name: await stack.enter_async_context(
                watching(live_server, protocol, token, promotion_id, PLANNED_WITH_IDS)
            )
            for name, token in tokens.items()
        }

        # (each in, its snapshot read, before the promotion runs: a target's current state, for each it sees)
        snapshots = [
            [(await receive(ws))["payload"]["data"]["promotionProgress"] for _ in range(seen)]
            for ws, seen in zip(sockets.values(), (2, 1), strict=True)
        ]

        # when the promotion runs
        async with in_process_worker(settings):
            rest = await asyncio.gather(*(events_until_complete(ws) for ws in sockets.values()))
    owner, bobs = (snapshot + events for snapshot, events in zip(snapshots, rest, strict=True))

    # then the owner saw both targets to their end, and bob only the one he sees: the same events of it as the owner's
    assert {event["target"]["id"] for event in owner} == set(target_of.values())
    assert [event["step"] for event in owner].count("DONE") == 2
    assert {event["target"]["id"] for event in bobs} == {target_of["shop-prod-eu"]}
    assert bobs == [event for event in owner if event["target"]["id"] == target_of["shop-prod-eu"]]
