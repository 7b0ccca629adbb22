"""Rights on an open WebSocket, against a live server in both protocols: each operation gets its own loaders and the
viewer's rights as they are when it starts, and a running subscription checks them again before every event.

A subscriber who loses sight of what it follows gets no further event: the subscription ends with a NOT_FOUND error
(as if the thing did not exist, which is what they would be told if they subscribed now), and the socket stays open.
"""

from __future__ import annotations

import httpx
import pytest
from strawberry import relay
from workers.runner import in_process_worker

from pipegraph.api.context import SUBSCRIPTIONS_OVER_HTTP
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import PROGRESS, queued_promotion
from tests.support.team_scene import actor
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, connect, init, receive, start

ADD_COLLABORATOR = """
mutation($input: AddAppCollaboratorInput!) { addAppCollaborator(input: $input) { userErrors { code } } }"""

REMOVE_COLLABORATOR = """
mutation($input: RemoveAppCollaboratorInput!) { removeAppCollaborator(input: $input) { userErrors { code } } }"""

RENAME_PIPELINE = """
mutation($input: RenamePipelineInput!) { renamePipeline(input: $input) { userErrors { code } } }"""

PIPELINE_NAME = "query($id: ID!) { node(id: $id) { ... on Pipeline { name } } }"
PROD_APP = 'query { app(name: "shop-prod-eu") { name } }'

BOB = "bob@example.com"


async def collaborate(gql: GraphQLClient, document: str, **input: object) -> None:
    data = await gql(document, {"input": {"app": "shop-prod-eu", "user": BOB, **input}})
    assert next(iter(data.values()))["userErrors"] == []


async def result_of(ws: object, protocol: str, query: str, variables: dict[str, object] | None = None) -> object:
    """Run a query on the socket (as operation "1", one at a time) and return its data."""
    await start(ws, protocol, query, variables)
    message = await receive(ws)
    assert message["type"] in ("next", "data"), message
    completed = await receive(ws)
    assert completed["type"] == "complete", completed
    return message["payload"]["data"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_collaborator_removed_mid_subscription_gets_no_further_event(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner, settings: Settings, live_server: str, protocol: str
) -> None:
    # given bob, who sees the pipeline only as a collaborator on the promotion's target, following the promotion
    promotion_id = await queued_promotion(gql, jobs)
    bob = await actor(client, BOB)
    await collaborate(gql, ADD_COLLABORATOR, permissions=["VIEW"])
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {bob.actor.token}"})
        assert (await receive(ws))["type"] == "connection_ack"
        await start(ws, protocol, PROGRESS, {"id": promotion_id})
        first = await receive(ws)
        assert first["payload"]["data"]["promotionProgress"]["step"] == "QUEUED"

        # when he is removed from the app, and then the promotion moves on
        await collaborate(gql, REMOVE_COLLABORATOR)
        async with in_process_worker(settings):
            ending = await receive(ws)

        # then the next thing he gets is the end of the stream: an error, as if the promotion did not exist
        key = relay.GlobalID.from_id(promotion_id).node_id
        assert ending["type"] in ("next", "data")
        assert ending["payload"] == {"data": None, "errors": [{"message": f"promotion {key} not found"}]}
        assert (await receive(ws))["type"] == "complete"

        # and a new subscription on the same socket is refused with his rights as they are now
        await start(ws, protocol, PROGRESS, {"id": promotion_id})
        refused = await receive(ws)
        assert refused["payload"] == {"data": None, "errors": [{"message": f"promotion {key} not found"}]}


GRANT_ACCESS = """
mutation($input: GrantPipelineAccessInput!) { grantPipelineAccess(input: $input) { userErrors { code } } }"""

REVOKE_ACCESS = """
mutation($input: RevokePipelineAccessInput!) { revokePipelineAccess(input: $input) { userErrors { code } } }"""

SHOP = 'query { pipeline(name: "shop") { name stages { apps { name } } } }'
_EMPTY_STAGES = [{"apps": []}] * 4  # none of its apps is his


async def test_a_pipeline_seen_through_a_grant_is_unseen_on_the_socket_once_the_grant_is_revoked(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner, live_server: str
) -> None:
    protocol = TRANSPORT_WS  # queries on a socket: the legacy protocol runs subscriptions only
    # given bob, who sees the pipeline only through a grant of its Access tab, on an open socket
    await queued_promotion(gql, jobs)
    bob = await actor(client, BOB)
    granted = await gql(GRANT_ACCESS, {"input": {"pipeline": "shop", "user": BOB, "permissions": ["VIEW"]}})
    assert granted["grantPipelineAccess"]["userErrors"] == []
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {bob.actor.token}"})
        assert (await receive(ws))["type"] == "connection_ack"
        assert await result_of(ws, protocol, SHOP) == {"pipeline": {"name": "shop", "stages": _EMPTY_STAGES}}

        # when the grant is revoked, then the next operation on the socket no longer sees the pipeline
        revoked = await gql(REVOKE_ACCESS, {"input": {"pipeline": "shop", "user": BOB}})
        assert revoked["revokePipelineAccess"]["userErrors"] == []
        assert await result_of(ws, protocol, SHOP) == {"pipeline": None}


async def test_each_operation_on_a_socket_runs_with_the_rights_of_its_start(
    gql: GraphQLClient, client: httpx.AsyncClient, jobs: JobRunner, live_server: str
) -> None:
    # given bob, a collaborator on an app of the pipeline, with a socket that read the pipeline and the app
    await queued_promotion(gql, jobs)
    bob = await actor(client, BOB)
    await collaborate(gql, ADD_COLLABORATOR, permissions=["VIEW"])
    pipeline_id = (await gql('query { pipeline(name: "shop") { id } }'))["pipeline"]["id"]
    protocol = TRANSPORT_WS  # queries on a socket: the legacy protocol runs subscriptions only
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {bob.actor.token}"})
        assert (await receive(ws))["type"] == "connection_ack"
        assert await result_of(ws, protocol, PIPELINE_NAME, {"id": pipeline_id}) == {"node": {"name": "shop"}}
        assert await result_of(ws, protocol, PROD_APP) == {"app": {"name": "shop-prod-eu"}}

        # when bob is removed from the app
        await collaborate(gql, REMOVE_COLLABORATOR)

        # then the next operations on the same socket no longer show him either
        assert await result_of(ws, protocol, PIPELINE_NAME, {"id": pipeline_id}) == {"node": None}
        assert await result_of(ws, protocol, PROD_APP) == {"app": None}


async def test_each_operation_sees_a_rename_made_since_the_last(
    gql: GraphQLClient, jobs: JobRunner, live_server: str
) -> None:
    # given the owner's socket, which read the pipeline by ID
    await queued_promotion(gql, jobs)
    pipeline_id = (await gql('query { pipeline(name: "shop") { id } }'))["pipeline"]["id"]
    protocol = TRANSPORT_WS
    async with connect(live_server, protocol) as ws:
        await init(ws, {"Authorization": f"Bearer {gql.actor.token}"})
        assert (await receive(ws))["type"] == "connection_ack"
        assert await result_of(ws, protocol, PIPELINE_NAME, {"id": pipeline_id}) == {"node": {"name": "shop"}}

        # when it is renamed
        await gql(RENAME_PIPELINE, {"input": {"pipeline": "shop", "name": "store"}})

        # then the same socket reads the new name, not a cached row
        assert await result_of(ws, protocol, PIPELINE_NAME, {"id": pipeline_id}) == {"node": {"name": "store"}}


async def test_subscriptions_over_http_are_refused(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given a promotion to follow
    promotion_id = await queued_promotion(gql, jobs)

    # when a client asks for it over HTTP as a multipart subscription (strawberry's protocol for it)
    response = await gql.http.post(
        "/graphql",
        json={"query": PROGRESS, "variables": {"id": promotion_id}},
        headers={**gql.actor.headers, "Accept": 'multipart/mixed;subscriptionSpec="1.0",application/json'},
    )

    # then it is refused with a clear error, and nothing streams: subscriptions run only over a WebSocket
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"data": None, "errors": [{"message": SUBSCRIPTIONS_OVER_HTTP}]}


async def test_a_subscription_posted_as_plain_json_is_refused_too(gql: GraphQLClient, jobs: JobRunner) -> None:
    promotion_id = await queued_promotion(gql, jobs)

    body = await gql.raw(PROGRESS, {"id": promotion_id})

    assert body == {"data": None, "errors": [{"message": SUBSCRIPTIONS_OVER_HTTP}]}
