"""The API's edges: Relay nodes and connections, authentication, GraphiQL, query limits and error masking."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from tortoise.connection import connections

from pipegraph.accounts.models import ApiToken
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import CREATE_APP, create_app, create_pipeline, create_slug, deploy, tarball

VIEWER = "query { viewer { id email name } }"

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on User { email }
    ... on App { name }
    ... on Slug { checksum }
    ... on Release { version }
    ... on Pipeline { name }
  }
}"""

APPS_FIRST = "query($first: Int) { apps(first: $first) { edges { node { name } } pageInfo { hasNextPage } } }"


def global_id(type_name: str, node_id: str) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


async def test_viewer_is_the_tokens_user(gql: GraphQLClient, viewer: Actor) -> None:
    # when the viewer is asked for
    data = await gql(VIEWER)

    # then it is the user the token belongs to
    assert data["viewer"]["email"] == "ada@example.com"
    assert data["viewer"]["id"] == global_id("User", str(viewer.user.id))


async def test_node_resolves_every_object_type(gql: GraphQLClient, viewer: Actor) -> None:
    # given one object of each type
    app = await create_app(gql, name="shop-dev")
    slug = await create_slug(gql, app="shop-dev", data=tarball({"x": "1"}))
    release = await deploy(gql, app="shop-dev")
    pipeline = await create_pipeline(gql, name="shop", app="shop-dev")
    user_id = (await gql(VIEWER))["viewer"]["id"]

    # when each is fetched through node(id:)
    nodes = {
        kind: (await gql(NODE, {"id": id_}))["node"]
        for kind, id_ in [
            ("user", user_id),
            ("app", app["id"]),
            ("slug", slug["slug"]["id"]),
            ("release", release["id"]),
            ("pipeline", pipeline["id"]),
        ]
    }

    # then each comes back as itself, with the same ID
    assert nodes["user"] == {"__typename": "User", "id": user_id, "email": viewer.user.email}
    assert nodes["app"] == {"__typename": "App", "id": app["id"], "name": "shop-dev"}
    assert nodes["slug"] == {"__typename": "Slug", "id": slug["slug"]["id"], "checksum": slug["slug"]["checksum"]}
    assert nodes["release"] == {"__typename": "Release", "id": release["id"], "version": 1}
    assert nodes["pipeline"] == {"__typename": "Pipeline", "id": pipeline["id"], "name": "shop"}


@pytest.mark.parametrize(
    "id_",
    [
        pytest.param(global_id("App", "999999"), id="unknown-app"),
        pytest.param(global_id("Release", "1"), id="no-such-release"),
        pytest.param(global_id("Bogus", "1"), id="unknown-type"),
        pytest.param(global_id("UserError", "1"), id="type-not-a-node"),
        pytest.param(global_id("App", "x"), id="non-numeric-key"),
        pytest.param(global_id("App", "-1"), id="negative-key"),
        pytest.param(global_id("App", "²"), id="unicode-digit"),
        pytest.param(global_id("App", "9" * 25), id="key-beyond-bigint"),
        pytest.param("garbage", id="not-base64"),
        pytest.param(base64.b64encode(b"no colon").decode(), id="no-type"),
        pytest.param("", id="empty"),
    ],
)
async def test_node_is_null_for_an_unknown_or_malformed_id(gql: GraphQLClient, id_: str) -> None:
    # given an app, so tables are not empty
    await create_app(gql, name="shop")

    # when node(id:) gets an ID that names nothing
    body = await gql.raw(NODE, {"id": id_})

    # then the answer is null, without any error
    assert body == {"data": {"node": None}}


async def test_mutations_given_a_key_beyond_bigint_say_not_found(gql: GraphQLClient) -> None:
    # when an app reference is a global ID whose key cannot exist
    huge = global_id("App", "9" * 25)
    data = await gql(
        "mutation($input: SetConfigVarsInput!) { setConfigVars(input: $input) { userErrors { code field } } }",
        {"input": {"app": huge, "vars": {"A": "1"}}},
    )

    # then it is a plain NOT_FOUND, not an internal error
    assert data["setConfigVars"]["userErrors"] == [{"code": "NOT_FOUND", "field": "app"}]


@pytest.mark.parametrize(
    "query",
    [
        "query { apps(first: 101) { edges { cursor } } }",
        "query { pipelines(first: 101) { edges { cursor } } }",
        'query { app(name: "shop") { releases(first: 101) { edges { cursor } } } }',
        "query { apps(first: -1) { edges { cursor } } }",
    ],
)
async def test_first_is_capped_at_100_with_a_clear_error(gql: GraphQLClient, query: str) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a page bigger than 100 (or negative) is asked for
    body = await gql.raw(query)

    # then the error says what the cap is, unmasked
    [error] = body["errors"]
    assert error["message"].startswith("`first` must be between 0 and 100, got ")


async def test_first_100_and_0_are_allowed(gql: GraphQLClient) -> None:
    # given two apps
    await create_app(gql, name="alpha")
    await create_app(gql, name="bravo")

    # when the largest and the smallest pages are asked for
    full = (await gql(APPS_FIRST, {"first": 100}))["apps"]
    empty = (await gql(APPS_FIRST, {"first": 0}))["apps"]

    # then they hold everything, and nothing (with more to come)
    assert [edge["node"]["name"] for edge in full["edges"]] == ["alpha", "bravo"]
    assert full["pageInfo"]["hasNextPage"] is False
    assert empty == {"edges": [], "pageInfo": {"hasNextPage": True}}


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ('query { apps(after: "%%%") { edges { cursor } } }', "cursor"),
        ('query { apps(after: "bm9wZQ==") { edges { cursor } } }', "not a cursor of this list"),
        ('query { pipelines(after: "YXBwOnNob3A=") { edges { cursor } } }', "not a cursor of this list"),
        ('query { app(name: "shop") { releases(after: "cmVsZWFzZTp4") { edges { cursor } } } }', "cursor"),
        ('query { app(name: "shop") { releases(after: "YXBwOnNob3A=") { edges { cursor } } } }', "cursor"),
    ],
)
async def test_a_bad_after_cursor_is_a_clear_error(gql: GraphQLClient, query: str, needle: str) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a cursor that is not one of this list is given
    body = await gql.raw(query)

    # then the error says so (not an internal error, not a silent first page)
    [error] = body["errors"]
    assert needle in error["message"]
    assert "`after`" in error["message"]


async def test_release_pages_follow_their_cursor(gql: GraphQLClient) -> None:
    # given an app with three releases
    await create_app(gql, name="shop")
    for n in range(3):
        await deploy(gql, app="shop", commit=f"c{n}")
    query = """
    query($after: String) {
      app(name: "shop") {
        releases(first: 2, after: $after) { edges { node { version } } pageInfo { hasNextPage endCursor } }
      }
    }"""

    # when they are paged two at a time
    first = (await gql(query))["app"]["releases"]
    second = (await gql(query, {"after": first["pageInfo"]["endCursor"]}))["app"]["releases"]

    # then newest first, without overlap
    assert [edge["node"]["version"] for edge in first["edges"]] == [3, 2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["version"] for edge in second["edges"]] == [1]
    assert second["pageInfo"]["hasNextPage"] is False


# --- authentication -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "missing API token"),
        ({"Authorization": "Bearer "}, "missing API token"),
        ({"Authorization": "Basic YWRhOnB3"}, "missing API token"),
        ({"Authorization": "Bearer pgt_not-a-real-token"}, "invalid or revoked API token"),
    ],
)
async def test_no_or_bad_token_is_a_401_graphql_error(
    client: httpx.AsyncClient, viewer: Actor, headers: dict[str, str], needle: str
) -> None:
    # when a query arrives without a valid token
    response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)

    # then it is a 401 shaped like a GraphQL response, saying what is wrong
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert needle in error["message"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_no_token_executes_no_mutation(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    # when a mutation arrives without a token
    response = await client.post("/graphql", json={"query": CREATE_APP, "variables": {"input": {"name": "sneaky"}}})

    # then it is refused and nothing was created
    assert response.status_code == 401
    assert (await gql('query { app(name: "sneaky") { id } }'))["app"] is None


async def test_a_token_is_bound_to_its_user(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    # given a second user with their own token
    from tests.support.clients import make_actor

    grace = GraphQLClient(client, await make_actor("grace@example.com"))

    # when each asks who they are
    ada = await gql(VIEWER)
    other = await grace(VIEWER)

    # then each is themselves
    assert ada["viewer"]["email"] == "ada@example.com"
    assert other["viewer"]["email"] == "grace@example.com"


async def test_get_with_html_accept_serves_graphiql(client: httpx.AsyncClient) -> None:
    # when a browser opens the endpoint (no token needed: the page holds no data)
    response = await client.get("/graphql", headers={"Accept": "text/html"})

    # then GraphiQL is served
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize("with_token", [True, False])
async def test_a_query_over_get_is_refused(client: httpx.AsyncClient, viewer: Actor, with_token: bool) -> None:
    # when a query is sent in a GET's query string
    response = await client.get(
        "/graphql",
        params={"query": VIEWER},
        headers={**(viewer.headers if with_token else {}), "Accept": "application/json"},
    )

    # then it is refused and nothing runs
    assert response.status_code in {400, 405}
    assert "GET" in response.text
    assert "ada@example.com" not in response.text


async def test_a_mutation_over_get_is_refused(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    # when a mutation is smuggled into a GET link
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createApp(input: {name: "via-get"}) { app { id } } }'},
        headers={**gql.actor.headers, "Accept": "application/json"},
    )

    # then it is refused and no app exists
    assert response.status_code in {400, 405}
    assert (await gql('query { app(name: "via-get") { id } }'))["app"] is None


# --- limits -------------------------------------------------------------------------------------------------------


def depth_bomb(levels: int) -> str:
    selection = "name"
    for _ in range(levels):
        selection = f"pipeline {{ stages {{ apps {{ {selection} }} }} }}"
    return selection


async def test_a_depth_bombed_mutation_is_refused_and_not_executed(gql: GraphQLClient) -> None:
    # when a mutation asks for a selection deeper than the limit
    query = f'mutation {{ createApp(input: {{name: "bomb"}}) {{ app {{ {depth_bomb(5)} }} }} }}'
    body = await gql.raw(query)

    # then it is refused with a clear message, and the mutation never ran
    assert body["data"] is None
    [error] = body["errors"]
    assert "exceeds maximum operation depth of 12" in error["message"]
    assert (await gql('query { app(name: "bomb") { id } }'))["app"] is None


async def test_a_query_at_the_depth_limit_runs(gql: GraphQLClient) -> None:
    # given an app in a pipeline
    await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev")

    # when a query nests exactly as deep as a dashboard needs
    data = await gql(f'query {{ app(name: "shop-dev") {{ {depth_bomb(2)} }} }}')

    # then it runs
    assert data["app"]["pipeline"]["stages"][1]["apps"][0]["pipeline"]["stages"][1]["apps"][0]["name"] == "shop-dev"


async def test_an_oversized_query_is_refused_before_it_runs(gql: GraphQLClient) -> None:
    # when a mutation carries more tokens than the limit
    fields = " ".join(["name"] * 2100)
    body = await gql.raw(f'mutation {{ createApp(input: {{name: "huge"}}) {{ app {{ {fields} }} }} }}')

    # then it is refused with a clear message, and nothing was created
    assert body["data"] is None
    [error] = body["errors"]
    assert "2000 tokens" in error["message"]
    assert (await gql('query { app(name: "huge") { id } }'))["app"] is None


async def test_too_many_aliases_are_refused_before_they_run(gql: GraphQLClient) -> None:
    # when one request aliases the same mutation 31 times
    aliased = " ".join(f'a{i}: createApp(input: {{name: "alias-{i:02d}"}}) {{ app {{ id }} }}' for i in range(31))
    body = await gql.raw(f"mutation {{ {aliased} }}")

    # then it is refused and none of them ran
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"]
    assert (await gql("query { apps { edges { node { name } } } }"))["apps"]["edges"] == []


# --- error masking ------------------------------------------------------------------------------------------------


async def test_internal_errors_are_masked(gql: GraphQLClient) -> None:
    # given a pipeline, and a database that lost a table under the running API (a real fault, no mock)
    await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev")
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE pipelines RENAME TO pipelines_gone")
    try:
        # when a query touches that table
        body: dict[str, Any] = await gql.raw("query { pipelines { edges { node { name } } } }")
    finally:
        await connection.execute_script("ALTER TABLE pipelines_gone RENAME TO pipelines")

    # then the client learns only that something failed inside: no message, class, SQL or stack trace
    [error] = body["errors"]
    assert error["message"] == "Internal server error"
    assert set(error) <= {"message", "locations", "path"}
    text = str(body).lower()
    for leak in ("pipelines_gone", "select", "traceback", "operationalerror", "relation", "no such table"):
        assert leak not in text
    # and the API keeps working once the fault is gone
    assert (await gql("query { pipelines { edges { node { name } } } }"))["pipelines"]["edges"] == [
        {"node": {"name": "shop"}}
    ]


@pytest.mark.parametrize("field", ["app", "pipeline"])
async def test_names_longer_than_any_name_are_simply_not_found(gql: GraphQLClient, field: str) -> None:
    # when a look-up uses a name longer than names may be
    body = await gql.raw(f'query {{ {field}(name: "{"a" * 40}") {{ id }} }}')

    # then nothing is found, and nothing fails inside
    assert body == {"data": {field: None}}


@pytest.mark.parametrize("field", ["apps", "pipelines"])
async def test_a_forged_cursor_holding_an_impossible_name_is_refused(gql: GraphQLClient, field: str) -> None:
    # given a cursor of the right kind around a value no name can be
    kind = field.removesuffix("s")
    cursor = base64.urlsafe_b64encode(f"{kind}:{'a' * 40}".encode()).decode()

    # when it is used
    body = await gql.raw(f'query {{ {field}(after: "{cursor}") {{ edges {{ cursor }} }} }}')

    # then it is a clear cursor error, not an internal one
    [error] = body["errors"]
    assert "`after` is not a cursor of this list" in error["message"]


@pytest.mark.parametrize(
    ("document", "input_", "field"),
    [
        (
            "mutation($input: SetConfigVarsInput!) { setConfigVars(input: $input) { userErrors { code field } } }",
            {"app": "a" * 40, "vars": {}},
            "app",
        ),
        (
            "mutation($input: RenamePipelineInput!) { renamePipeline(input: $input) { userErrors { code field } } }",
            {"pipeline": "p" * 40, "name": "fresh"},
            "pipeline",
        ),
    ],
)
async def test_references_longer_than_any_name_are_not_found(
    gql: GraphQLClient, document: str, input_: dict[str, Any], field: str
) -> None:
    # when a mutation references an app or pipeline by a name no app or pipeline can have
    data = await gql(document, {"input": input_})

    # then it is NOT_FOUND on that field
    [payload] = data.values()
    assert payload["userErrors"] == [{"code": "NOT_FOUND", "field": field}]


async def test_a_revoked_token_is_refused(client: httpx.AsyncClient, viewer: Actor) -> None:
    # given a token that worked, then was revoked
    assert (await client.post("/graphql", json={"query": VIEWER}, headers=viewer.headers)).status_code == 200
    await ApiToken.filter(user_id=viewer.user.id).update(revoked_at=datetime.now(UTC))

    # when it is used again
    response = await client.post("/graphql", json={"query": VIEWER}, headers=viewer.headers)

    # then it is a 401
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "invalid or revoked API token"


async def test_tokens_are_stored_hashed(viewer: Actor) -> None:
    # given a token handed to a user
    # then the database holds its SHA-256, never the secret itself
    [stored] = await ApiToken.filter(user_id=viewer.user.id)
    assert stored.token_hash == hashlib.sha256(viewer.token.encode()).hexdigest()
    assert viewer.token not in str(await ApiToken.filter(user_id=viewer.user.id).values())


async def test_graphiqls_introspection_fits_within_the_limits(gql: GraphQLClient) -> None:
    # given the full introspection query GraphiQL sends (descriptions, deprecations and all)
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )

    # when it is run
    data = await gql(query)

    # then the depth and token limits let it through, and it describes our types
    names = {type_["name"] for type_ in data["__schema"]["types"]}
    assert {"Pipeline", "App", "Release", "Slug", "User", "Node", "PageInfo"} <= names


def test_results_are_json_even_where_orjson_refuses_a_value() -> None:
    import json

    from pipegraph.api.json_output import dumps

    # orjson writes the common case; an integer past 64 bits (a client's JSON scalar may hold one) or a key that is not
    # a string falls back to the standard library instead of failing the response
    assert json.loads(dumps({"data": {"name": "é", "n": 1}})) == {"data": {"name": "é", "n": 1}}
    assert json.loads(dumps({"data": {"n": 2**70, 1: "x"}})) == {"data": {"n": 2**70, "1": "x"}}
