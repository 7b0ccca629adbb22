"""The fast path for queries sent again (api/fast_path.py): the same answers, the same refusals, nothing remembered that
did not pass every check, and every check that depends on the request made again on each one."""

from __future__ import annotations

import httpx
import pytest

from pipegraph.api.fast_path import FastPathSchema, KnownDocuments, KnownQuery
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore
from pipegraph.testing.seed import DASHBOARD_PIPELINE, GraphShape, seed_graph
from tests.support.clients import GraphQLClient, make_actor
from tests.support.factories import CREATE_APP
from tests.test_http_safety import locked_down  # noqa: F401 - the production-like API, as a fixture here too
from tests.test_query_nodes import THREE_PAGES
from tests.test_tokens import REVOKE_TOKEN, create_token

DASHBOARD = """
query Dashboard($name: String!) {
  pipeline(name: $name) {
    name
    stages { name apps { name currentRelease { version slug { commit } } } }
  }
}"""

APP_BY_NAME = "query App($name: String!) { app(name: $name) { name } }"
MY_TOKENS = "query Tokens($after: String) { viewer { apiTokens(first: 5, after: $after) { edges { node { id } } } } }"
UNKNOWN_FIELD = "query { viewer { email nonsense } }"
PROMOTIONS = 'subscription { promotionProgress(id: "UHJvbW90aW9uOjE=") { __typename } }'

TWO_PIPELINES = GraphShape(pipelines=2, apps_per_stage=1, releases_per_app=2)


def known_documents(client: httpx.AsyncClient) -> KnownDocuments:
    app = client._transport.app  # type: ignore[attr-defined]
    schema = app.state.schema
    assert isinstance(schema, FastPathSchema)
    return schema.known


def known(client: httpx.AsyncClient, query: str, operation_name: str | None = None) -> KnownQuery | None:
    return known_documents(client).get(query, operation_name)


async def test_a_query_sent_again_takes_the_fast_path_and_reads_its_own_variables(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given two pipelines, and the dashboard's query answered once for the first
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    first = await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})
    assert known(client, DASHBOARD) is not None

    # when the same text is sent for the other pipeline, then for the first again
    other = await gql(DASHBOARD, {"name": f"{DASHBOARD_PIPELINE}-02"})
    again = await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})

    # then each answer is its own pipeline's, and the first one's is what the whole path answered
    assert other["pipeline"]["name"] == f"{DASHBOARD_PIPELINE}-02"
    assert {app["name"] for stage in other["pipeline"]["stages"] for app in stage["apps"]}.isdisjoint(
        {app["name"] for stage in first["pipeline"]["stages"] for app in stage["apps"]}
    )
    assert again == first


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        pytest.param(UNKNOWN_FIELD, "nonsense", id="invalid"),
        pytest.param(PROMOTIONS, "WebSocket", id="subscription over HTTP"),
    ],
)
async def test_a_refused_document_is_never_remembered(
    client: httpx.AsyncClient, gql: GraphQLClient, query: str, refusal: str
) -> None:
    # when a document that does not validate, or may not run over HTTP, is sent twice
    first = await gql.raw(query)
    second = await gql.raw(query)

    # then both are refused alike, and it was never remembered
    assert first == second
    assert first["data"] is None
    assert refusal in first["errors"][0]["message"]
    assert known(client, query) is None


async def test_the_node_limit_is_checked_again_with_each_requests_variables(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a document that passed once with a small page
    assert (await gql.raw(THREE_PAGES, {"pipelines": 1})).get("errors") is None
    assert known(client, THREE_PAGES) is not None

    # when it is sent again asking for a million nodes
    body = await gql.raw(THREE_PAGES, {"pipelines": 100})

    # then it is refused as the first time would have been, with its cost
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 1010100, "limit": 50000}


async def test_the_text_of_each_requests_arguments_is_checked_again(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a document that passed once
    await gql(APP_BY_NAME, {"name": "web"})
    assert known(client, APP_BY_NAME) is not None

    # when it is sent again with a NUL in a variable
    body = await gql.raw(APP_BY_NAME, {"name": "we\x00b"})

    # then it is refused before it runs, naming the argument
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith("argument name ")


async def test_a_literal_bad_string_is_refused_each_time_the_document_comes(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a document whose literal argument holds a NUL: valid, so remembered, but refused before it runs
    query = '{ app(name: "we\\u0000b") { name } }'
    first = await gql.raw(query)
    assert known(client, query) is not None

    # when it is sent again
    again = await gql.raw(query)

    # then it is refused again, word for word
    assert again == first
    assert again["data"] is None
    assert again["errors"][0]["message"].startswith("argument name ")


async def test_a_known_documents_cost_is_kept_only_when_no_variable_changes_it(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a document with literal page sizes and one whose page size is a variable, both sent once
    await gql(DASHBOARD, {"name": "nothing-here"})
    await gql.raw(THREE_PAGES, {"pipelines": 1})

    # then the first one's cost is kept, and the second one's is counted again with each request's variables
    dashboard, pages = known(client, DASHBOARD), known(client, THREE_PAGES)
    assert dashboard is not None
    assert dashboard.cost == 0
    assert pages is not None
    assert pages.cost is None


async def test_errors_on_the_fast_path_are_labelled_and_masked_as_on_the_whole_path(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a document that passed once
    await gql(MY_TOKENS)
    assert known(client, MY_TOKENS) is not None

    # when it is sent again with a forged cursor, then once more after the fast path forgot it (the whole path)
    fast = await gql.raw(MY_TOKENS, {"after": "forged"})
    known_documents(client).clear()
    whole = await gql.raw(MY_TOKENS, {"after": "forged"})

    # then both refuse it alike, with the client's code
    assert fast == whole
    assert fast["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_revoked_token_is_refused_on_the_very_next_request_of_a_known_query(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a second token whose query is known to the fast path
    payload = await create_token(gql, "laptop")
    headers = {"Authorization": f"Bearer {payload['token']}"}
    response = await client.post("/graphql", json={"query": MY_TOKENS}, headers=headers)
    assert response.status_code == 200
    assert known(client, MY_TOKENS) is not None

    # when the token is revoked
    revoked = await gql(REVOKE_TOKEN, {"input": {"id": payload["apiToken"]["id"]}})
    assert revoked["revokeApiToken"]["userErrors"] == []

    # then the very next request of that query is refused, and answers nothing
    response = await client.post("/graphql", json={"query": MY_TOKENS}, headers=headers)
    assert response.status_code == 401
    assert response.json()["data"] is None


async def test_another_viewer_sending_a_known_query_sees_only_their_own(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given the dashboard's query known from its owner
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    assert (await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE}))["pipeline"] is not None

    # when someone else sends it
    stranger = GraphQLClient(client, await make_actor("eve@example.com"))
    data = await stranger(DASHBOARD, {"name": DASHBOARD_PIPELINE})

    # then they see nothing of it
    assert data == {"pipeline": None}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_mutation_is_never_remembered_nor_run_over_get(
    client: httpx.AsyncClient, gql: GraphQLClient, method: str
) -> None:
    # given a mutation that ran once, over POST
    await gql(CREATE_APP, {"input": {"name": "first"}})
    assert known(client, CREATE_APP) is None

    # when it is sent over GET
    response = await client.get(
        "/graphql",
        params={"query": CREATE_APP, "variables": '{"input": {"name": "sneaky"}}'},
        headers={**gql.actor.headers, "Accept": "application/json"},
    )

    # then it is refused, and nothing was made
    assert response.status_code in {400, 405}
    assert (await gql('{ app(name: "sneaky") { name } }'))["app"] is None


async def test_a_known_query_is_not_run_over_get(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    # given a query the fast path knows
    await gql(APP_BY_NAME, {"name": "web"})
    assert known(client, APP_BY_NAME) is not None

    # when it is put in a GET's query string
    response = await client.get(
        "/graphql",
        params={"query": APP_BY_NAME, "variables": '{"name": "web"}'},
        headers={**gql.actor.headers, "Accept": "application/json"},
    )

    # then nothing runs
    assert response.status_code in {400, 405}


async def test_introspection_stays_refused_when_turned_off(
    locked_down: httpx.AsyncClient,  # noqa: F811
    gql: GraphQLClient,
) -> None:
    # when the locked-down API is introspected twice
    headers = gql.actor.headers
    query = "{ __schema { types { name } } }"
    bodies = [(await locked_down.post("/graphql", json={"query": query}, headers=headers)).json() for _ in range(2)]

    # then both are refused, and the document was never remembered
    for body in bodies:
        assert body.get("data") is None
        assert "introspection" in body["errors"][0]["message"].lower()
    assert known(locked_down, query) is None


def test_known_documents_are_bounded() -> None:
    documents = KnownDocuments(max_size=2)
    entry = KnownQuery(document=None, operation=None, cost=None, text=None)  # type: ignore[arg-type]
    for text in ("a", "b", "c"):
        documents.remember(text, None, entry)
    assert len(documents) <= 2
    assert documents.get("c", None) is entry
