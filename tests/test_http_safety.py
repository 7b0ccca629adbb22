"""HTTP that a hostile page cannot drive: JSON-only POSTs, nothing over GET, GraphiQL and introspection switchable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from graphql import get_introspection_query

from pipegraph.api.app import create_app
from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import CREATE_APP

VIEWER = "query { viewer { email } }"
SNEAKY = json.dumps({"query": CREATE_APP, "variables": {"input": {"name": "sneaky"}}})
APP_EXISTS = 'query { app(name: "sneaky") { id } }'


@pytest.fixture
async def locked_down(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API as production runs it: PIPEGRAPH_GRAPHIQL and PIPEGRAPH_INTROSPECTION off."""
    production = Settings.from_env(
        {
            "PIPEGRAPH_DATA_DIR": str(settings.data_dir),
            "PIPEGRAPH_SECRET_KEY": "test",
            "PIPEGRAPH_GRAPHIQL": "false",
            "PIPEGRAPH_INTROSPECTION": "0",
        }
    )
    assert (production.graphiql, production.introspection) == (False, False)
    app = create_app(
        replace(settings, graphiql=production.graphiql, introspection=production.introspection), manage_db=False
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


# --- content types ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "text/plain; charset=utf-8",
        # A browser sends this cross-site without a preflight too, and it merely *contains* application/json.
        "text/plain; x=application/json",
        "application/jsonp",
        None,
    ],
)
async def test_a_post_that_is_not_json_is_refused_before_anything_runs(
    client: httpx.AsyncClient, gql: GraphQLClient, viewer: Actor, content_type: str | None
) -> None:
    # when a mutation arrives with a valid token and a JSON body, labelled as something a form could send
    headers = {**viewer.headers, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post("/graphql", content=SNEAKY.encode(), headers=headers)

    # then it is a 415 that says what to send, and the mutation never ran
    assert response.status_code == 415
    [error] = response.json()["errors"]
    assert "Content-Type: application/json" in error["message"]
    assert error["extensions"] == {"code": "UNSUPPORTED_MEDIA_TYPE"}
    assert (await gql(APP_EXISTS))["app"] is None


async def test_a_form_post_without_a_token_is_refused_the_same_way(client: httpx.AsyncClient) -> None:
    # when a cross-site form posts without any token
    response = await client.post("/graphql", data={"query": VIEWER})

    # then the content type is refused first: no token look-up for a request that could never run
    assert response.status_code == 415


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
async def test_json_posts_run(client: httpx.AsyncClient, viewer: Actor, content_type: str) -> None:
    # when a query arrives as JSON, with or without parameters
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": VIEWER}).encode(),
        headers={**viewer.headers, "Content-Type": content_type},
    )

    # then it runs
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


# --- GraphiQL -----------------------------------------------------------------------------------------------------


async def test_graphiql_turned_off_is_not_served(locked_down: httpx.AsyncClient) -> None:
    # when a browser opens the endpoint of an API with GraphiQL off
    response = await locked_down.get("/graphql", headers={"Accept": "text/html"})

    # then there is no page
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_with_graphiql_off_get_still_runs_nothing(locked_down: httpx.AsyncClient, viewer: Actor) -> None:
    # when a query is put in a GET's query string
    response = await locked_down.get(
        "/graphql", params={"query": VIEWER}, headers={**viewer.headers, "Accept": "application/json"}
    )

    # then it is refused and nothing was answered
    assert response.status_code in {400, 405}
    assert "ada@example.com" not in response.text


# --- introspection ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ __schema { types { name } } }", id="schema"),
        pytest.param('{ __type(name: "ApiToken") { fields { name } } }', id="type"),
        pytest.param(get_introspection_query(descriptions=True), id="graphiql"),
    ],
)
async def test_introspection_turned_off_is_a_clear_error(
    locked_down: httpx.AsyncClient, viewer: Actor, query: str
) -> None:
    # when the schema is introspected on an API with introspection off
    response = await locked_down.post("/graphql", json={"query": query}, headers=viewer.headers)

    # then it is refused, saying why, and nothing of the schema is shown
    body = response.json()
    assert body.get("data") is None
    assert any("introspection" in error["message"].lower() for error in body["errors"]), body


async def test_regular_queries_run_with_introspection_off(locked_down: httpx.AsyncClient, viewer: Actor) -> None:
    # when ordinary queries, `__typename` included, run on the locked-down API
    response = await locked_down.post(
        "/graphql", json={"query": "{ __typename viewer { __typename email } }"}, headers=viewer.headers
    )

    # then they are answered as usual
    assert response.json() == {
        "data": {"__typename": "Query", "viewer": {"__typename": "User", "email": "ada@example.com"}}
    }


async def test_introspection_is_on_by_default(gql: GraphQLClient) -> None:
    # when the default API (development) is introspected
    data = await gql('{ __type(name: "ApiToken") { fields { name } } }')

    # then it answers
    assert {field["name"] for field in data["__type"]["fields"]} >= {"id", "description", "revokedAt"}
