"""Nested reads cost a fixed number of SQL statements, however many pipelines, apps and releases there are."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore
from pipegraph.testing.seed import LARGE, SMALL, GraphShape, commit_of, seed_graph
from tests.support.clients import GraphQLClient, make_actor
from tests.support.database import truncate_all
from tests.support.sql import StatementCounter

# Every table a statement reads, subqueries and joins included (the token's statement reads the rights by subquery).
TABLE_READ = re.compile(r'\b(?:FROM|JOIN) "?(\w+)"?')

PIPELINE_GRAPH = """
{
  pipeline(name: "shop") {
    stages {
      name
      apps {
        name stack
        currentRelease { version status slug { commit checksum processTypes } }
        releases(first: 10) { edges { node { version } } }
      }
    }
  }
}"""

PIPELINES_GRAPH = """
{
  pipelines(first: 20) {
    edges {
      node {
        name
        stages {
          name
          apps {
            name
            currentRelease { version slug { commit } }
            releases(first: 10) { edges { node { version } } }
            builds(first: 5) { edges { node { status } } }
          }
        }
      }
    }
  }
}"""


async def read_cost(
    client: httpx.AsyncClient, settings: Settings, counter: StatementCounter, query: str, shape: GraphShape
) -> tuple[list[str], dict[str, Any]]:
    """The statements one request of `query` issues over a fresh graph of `shape`, and its data: its second request,
    so that every count is of a known document (one the fast path knows may have its data read by the credential's
    own statement, api/speculation.py) and none records the token's first use."""
    await truncate_all()
    actor = await make_actor()
    await seed_graph(shape, owner=actor.user, store=LocalSlugStore(settings.slug_dir))
    await GraphQLClient(client, actor)(query)
    counter.statements.clear()
    data = await GraphQLClient(client, actor)(query)
    return list(counter.statements), data


def assert_app_fully_read(app: dict[str, Any], shape: GraphShape) -> None:
    newest = shape.releases_per_app
    assert app["currentRelease"]["version"] == newest
    assert app["currentRelease"]["slug"]["commit"] == commit_of(app["name"], newest)
    assert [edge["node"]["version"] for edge in app["releases"]["edges"]] == list(range(newest, 0, -1))


async def test_pipeline_graph_costs_the_same_statements_for_1_or_20_pipelines(
    client: httpx.AsyncClient, settings: Settings, sql_statements: StatementCounter
) -> None:
    # given one pipeline with one app per stage, then 20 pipelines × 4 stages × 5 apps × 10 releases
    small, _ = await read_cost(client, settings, sql_statements, PIPELINE_GRAPH, SMALL)
    large, data = await read_cost(client, settings, sql_statements, PIPELINE_GRAPH, LARGE)

    # then the nested read issued as many statements for the big graph as for the small one
    assert small, "the statement counter saw nothing: is tortoise's SQL logging counted on this backend?"
    assert len(large) == len(small), "\n".join(["small:", *small, "large:", *large])
    # and it really read the big graph: every stage, app, current release, slug and release page
    stages = data["pipeline"]["stages"]
    assert [len(stage["apps"]) for stage in stages] == [LARGE.apps_per_stage] * 4
    for stage in stages:
        for app in stage["apps"]:
            assert_app_fully_read(app, LARGE)
            assert app["currentRelease"]["status"] == "SUCCEEDED"


async def test_pipelines_list_costs_the_same_statements_for_1_or_20_pipelines(
    client: httpx.AsyncClient, settings: Settings, sql_statements: StatementCounter
) -> None:
    # given one pipeline, then 20 pipelines × 4 stages × 5 apps × 10 releases
    small, _ = await read_cost(client, settings, sql_statements, PIPELINES_GRAPH, SMALL)
    large, data = await read_cost(client, settings, sql_statements, PIPELINES_GRAPH, LARGE)

    # then listing them with their whole graph costs the same statements either way
    assert small, "the statement counter saw nothing: is tortoise's SQL logging counted on this backend?"
    assert len(large) == len(small), "\n".join(["small:", *small, "large:", *large])
    pipelines = [edge["node"] for edge in data["pipelines"]["edges"]]
    assert len(pipelines) == LARGE.pipelines
    apps = [app for pipeline in pipelines for stage in pipeline["stages"] for app in stage["apps"]]
    assert len(apps) == LARGE.pipelines * 4 * LARGE.apps_per_stage
    for app in apps:
        assert_app_fully_read(app, LARGE)


# The first table of the statements each read must show: PIPELINE_GRAPH is compiled (pipegraph.reads: the pipeline's
# tree, then the release pages read from their apps, other tables joined inside), PIPELINES_GRAPH asks for builds,
# which are not, so the resolvers' DataLoaders answer it (one statement per relation, release pages as raw SQL).
SEEN_TABLES = {
    "pipeline": {"api_tokens", "pipelines", "apps"},
    "pipelines": {"api_tokens", "pipelines", "pipeline_couplings", "releases", "slugs"},
}


@pytest.mark.parametrize(
    ("query", "tables"),
    [(PIPELINE_GRAPH, SEEN_TABLES["pipeline"]), (PIPELINES_GRAPH, SEEN_TABLES["pipelines"])],
    ids=list(SEEN_TABLES),
)
async def test_statement_counter_sees_orm_and_raw_statements(
    client: httpx.AsyncClient, settings: Settings, sql_statements: StatementCounter, query: str, tables: set[str]
) -> None:
    # given the smallest full graph
    statements, _ = await read_cost(client, settings, sql_statements, query, SMALL)

    # then the counter saw a statement for every relation the read walks, whether the ORM built it or it is raw SQL:
    # were a backend to log differently, the equalities above would be comparing nothing
    seen = {table for statement in statements for table in TABLE_READ.findall(statement)}
    assert seen >= tables, "\n".join(statements)


OWNERSHIP_GRAPH = """
{
  pipelines(first: 20) {
    edges {
      node {
        name
        owner { ... on User { email } }
        transfers { createdAt }
        access { autoJoin grants { permissions } }
        foreignApps { name }
        apps { name owner { ... on User { email } } collaborators { permissions } }
      }
    }
  }
}"""


async def test_ownership_and_access_fields_cost_the_same_statements_for_1_or_20_pipelines(
    client: httpx.AsyncClient, settings: Settings, sql_statements: StatementCounter
) -> None:
    # given one pipeline, then 20 pipelines of 20 apps each
    small, _ = await read_cost(client, settings, sql_statements, OWNERSHIP_GRAPH, SMALL)
    large, data = await read_cost(client, settings, sql_statements, OWNERSHIP_GRAPH, LARGE)

    # then transfers, access grants and collaborators are batched like every other relation
    assert len(data["pipelines"]["edges"]) == LARGE.pipelines
    assert len(large) == len(small), "\n".join(["small:", *small, "large:", *large])
