"""WebSocket authentication against a live server, in both protocols: the token in `connection_init`, checked again
on every later message and before every result, so a revoked token stops an open socket at once."""

from __future__ import annotations

from typing import Any

import pytest
from workers.runner import in_process_worker

from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.factories import CREATE_APP
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import PROGRESS, queued_promotion
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, closed, connect, init, receive, start

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]

CREATE_TOKEN = """
mutation { createApiToken(input: {description: "socket"}) { token apiToken { id } userErrors { code } } }"""

REVOKE_TOKEN = """
mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { code } } }"""


async def socket_token(gql: GraphQLClient) -> tuple[str, str]:
    """A second token of the viewer, for the socket: its secret and its global ID."""
    payload = (await gql(CREATE_TOKEN))["createApiToken"]
    return payload["token"], payload["apiToken"]["id"]


async def revoke(gql: GraphQLClient, token_id: str) -> None:
    payload = (await gql(REVOKE_TOKEN, {"id": token_id}))["revokeApiToken"]
    assert payload["userErrors"] == []


# --- connection_init ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        pytest.param(None, "missing API token", id="no-payload"),
        pytest.param({}, "missing API token", id="no-token"),
        pytest.param({"Authorization": "Bearer pgt_wrong"}, "invalid or revoked API token", id="bad-token"),
        pytest.param({"token": "pgt_wrong"}, "invalid or revoked API token", id="bad-token-field"),
    ],
)
async def test_connection_init_without_a_valid_token_is_refused(
    gql: GraphQLClient, live_server: str, protocol: str, payload: dict[str, Any] | None, needle: str
) -> None:
    async with connect(live_server, protocol) as ws:
        # when the socket opens with no or a wrong token
        await init(ws, payload)
        code, _, sent = await closed(ws)

    # then it is never acknowledged, and each protocol refuses in its own way
    assert not [message for message in sent if message["type"] == "connection_ack"]
    if protocol == TRANSPORT_WS:
        assert code == 4403
    else:
        [error] = [message for message in sent if message["type"] == "connection_error"]
        assert error["payload"]["code"] == "UNAUTHENTICATED"
        assert needle in error["payload"]["message"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_token_revoked_before_connecting_is_refused(
    gql: GraphQLClient, live_server: str, protocol: str
) -> None:
    # given a token revoked already
    secret, token_id = await socket_token(gql)
    await revoke(gql, token_id)

    async with connect(live_server, protocol) as ws:
        # when a socket opens with it
        await init(ws, {"Authorization": f"Bearer {secret}"})
        _, _, sent = await closed(ws)

    # then it is not acknowledged
    assert not [message for message in sent if message["type"] == "connection_ack"]


# --- revoked while open ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("operation", ["subscription", "mutation"])
async def test_a_token_revoked_while_the_socket_is_open_is_refused_at_the_next_message(
    gql: GraphQLClient, jobs: JobRunner, live_server: str, protocol: str, operation: str
) -> None:
    # given a socket acknowledged with a token, which is then revoked
    promotion_id = await queued_promotion(gql, jobs)
    secret, token_id = await socket_token(gql)
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {secret}"})
        assert (await receive(ws))["type"] == "connection_ack"
        await revoke(gql, token_id)

        # when the socket sends an operation: a subscription, or a mutation (graphql-transport-ws runs those too)
        if operation == "subscription":
            await start(ws, protocol, PROGRESS, {"id": promotion_id})
        else:
            await start(ws, protocol, CREATE_APP, {"input": {"name": "after-revoke"}})
        code, reason, sent = await closed(ws)

    # then nothing ran or was delivered, and the socket is closed as unauthorized
    assert [message["type"] for message in sent] == []
    assert (code, reason) == (4401, "API token revoked")
    assert (await gql('query { app(name: "after-revoke") { id } }'))["app"] is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_same_socket_works_while_its_token_lives(
    gql: GraphQLClient, jobs: JobRunner, live_server: str, protocol: str
) -> None:
    # given a socket acknowledged with a live token (the control for the test above)
    promotion_id = await queued_promotion(gql, jobs)
    secret, _ = await socket_token(gql)
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {secret}"})
        assert (await receive(ws))["type"] == "connection_ack"

        # when it starts the same subscription
        await start(ws, protocol, PROGRESS, {"id": promotion_id})
        message = await receive(ws)

    # then it gets the promotion's state
    assert message["type"] in ("next", "data")
    assert message["payload"]["data"]["promotionProgress"]["step"] == "QUEUED"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_running_subscription_ends_at_its_next_event_once_the_token_is_revoked(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str, protocol: str
) -> None:
    # given a subscription following a promotion, which has sent the current state
    promotion_id = await queued_promotion(gql, jobs)
    secret, token_id = await socket_token(gql)
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {secret}"})
        assert (await receive(ws))["type"] == "connection_ack"
        await start(ws, protocol, PROGRESS, {"id": promotion_id})
        first = await receive(ws)
        assert first["payload"]["data"]["promotionProgress"]["step"] == "QUEUED"

        # when the token is revoked, and then the promotion moves on
        await revoke(gql, token_id)
        async with in_process_worker(settings):
            code, reason, sent = await closed(ws)

    # then no further event reached the socket: it was closed as unauthorized instead
    assert [message for message in sent if message["type"] in ("next", "data")] == []
    assert (code, reason) == (4401, "API token revoked")
