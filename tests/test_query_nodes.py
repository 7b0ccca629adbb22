"""GitHub's node limit: a query that may return more nodes than allowed is refused before it runs, with its count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from graphql import get_introspection_query, parse

from pipegraph.api.app import create_app
from pipegraph.api.cost import NodeCount
from pipegraph.schema import schema
from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.ws_client import TRANSPORT_WS, SubscriptionError, subscribe
from tests.test_readme_documents import documents

# 100 pipelines × 100 promotions × (each target's app) 100 releases: up to 1,010,100 nodes.
THREE_PAGES = """
query($pipelines: Int, $promotions: Int = 100) {
  pipelines(first: $pipelines) { edges { node {
    promotions(first: $promotions) { edges { node {
      targets { app { releases(first: 100) { edges { node { version } } } } }
    } } }
  } } }
}"""

TWO_PAGES = """
{ apps(first: 100) { edges { node { name releases(first: 100) { edges { node { version } } } } } } }"""


def nodes(document: str, variables: dict[str, object] | None = None) -> int:
    """The count the API computes for the document's only operation."""
    parsed = parse(document)
    [operation] = [definition for definition in parsed.definitions if definition.kind == "operation_definition"]
    fragments = {d.name.value: d for d in parsed.definitions if d.kind == "fragment_definition"}  # type: ignore[attr-defined]
    return NodeCount(schema._schema, fragments, variables or {}).operation(operation)  # type: ignore[arg-type]


async def test_a_query_that_may_return_a_million_nodes_is_refused_with_its_count(gql: GraphQLClient) -> None:
    # when three nested pages of 100 are asked for
    body = await gql.raw(THREE_PAGES, {"pipelines": 100})

    # then it is refused before it runs, saying what it would cost and what the limit is
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"].startswith("This query may return 1010100 nodes, more than the limit of 50000")
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 1010100, "limit": 50000}


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"pipelines": 2, "promotions": 3}, 2 + 2 * 3 + 2 * 3 * 100),
        ({}, 20 + 20 * 100 + 20 * 100 * 100),  # `first` absent: the default page (20); a variable's own default
        ({"pipelines": 1000}, 100 + 100 * 100 + 100 * 100 * 100),  # at most a full page (100) per connection
    ],
)
def test_variables_and_defaults_are_what_is_counted(variables: dict[str, object], expected: int) -> None:
    assert nodes(THREE_PAGES, variables) == expected


def test_fragments_and_inline_fragments_count_where_they_are_spread() -> None:
    # a fragment holding a page, spread under a page of 50 and inline under a page of 10
    document = """
    query { apps(first: 50) { edges { node { ...Releases } } }
            pipelines(first: 10) { edges { node { apps { ... on App { ...Releases } } } } } }
    fragment Releases on App { releases(first: 4) { edges { node { version } } } }"""
    assert nodes(document) == (50 + 50 * 4) + (10 + 10 * 4)


async def test_a_smaller_query_of_the_same_shape_runs(gql: GraphQLClient) -> None:
    # when the same shape asks for small pages
    data = await gql(THREE_PAGES, {"pipelines": 2, "promotions": 2})

    # then it runs
    assert data == {"pipelines": {"edges": []}}


async def test_two_full_pages_fit_the_default_limit(gql: GraphQLClient) -> None:
    assert nodes(TWO_PAGES) == 10100
    assert (await gql(TWO_PAGES))["apps"]["edges"] == []


@pytest.fixture
async def tight(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replace(settings, max_query_nodes=50), manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


async def test_a_costly_mutation_is_refused_and_never_runs(
    tight: httpx.AsyncClient, viewer: Actor, gql: GraphQLClient
) -> None:
    # given an API whose node limit is PIPEGRAPH_MAX_QUERY_NODES=50
    # when a mutation selects a page of 100 releases in its payload
    mutation = 'mutation { createApp(input: {name: "costly"}) { app { releases(first: 100) { edges { cursor } } } } }'
    body = await GraphQLClient(tight, viewer).raw(mutation)

    # then it is refused and the app was not created
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["cost"] == 100
    assert (await gql('query { app(name: "costly") { id } }'))["app"] is None


@pytest.mark.parametrize("document", documents())
def test_the_readmes_documents_fit_the_default_limit(document: str) -> None:
    assert nodes(document) <= Settings.from_env({"PIPEGRAPH_SECRET_KEY": "x"}).max_query_nodes


def test_graphiqls_introspection_costs_nothing() -> None:
    assert nodes(get_introspection_query(descriptions=True, input_value_deprecation=True)) == 0


async def test_a_costly_subscription_is_refused_over_the_websocket(live_server: str, viewer: Actor) -> None:
    # when a subscription asks, for each event, for pages of promotions and of their targets' releases
    document = """
    subscription($id: ID!) { promotionProgress(id: $id) { target { app {
      pipeline { promotions(first: 100) { edges { node {
        targets { app {
          a: releases(first: 100) { edges { cursor } } b: releases(first: 100) { edges { cursor } }
          c: releases(first: 100) { edges { cursor } } d: releases(first: 100) { edges { cursor } }
          e: releases(first: 100) { edges { cursor } }
        } }
      } } } }
    } } } }"""
    events = subscribe(
        live_server, document, {"id": "UHJvbW90aW9uOjE="}, protocol=TRANSPORT_WS, init_payload=viewer.headers
    )

    # then it is refused before anything is subscribed, with its count
    with pytest.raises(SubscriptionError, match="may return 50100 nodes"):
        await anext(events)
