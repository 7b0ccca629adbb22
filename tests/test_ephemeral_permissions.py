"""The seed's "Permissions and capabilities" table, cell by cell: as data in the code, and, where a cell maps to a real
operation, through the API for a user whose only access is a pipeline grant of that one permission."""

from __future__ import annotations

import re

import httpx
import pytest

from pipegraph.access.rules import EPHEMERAL_CAPABILITIES, EphemeralAction, Permission, ephemeral_allows
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, create_pipeline
from tests.support.team_scene import actor

# Copied from the seed as it reads there: the X marks of each row fill its last columns (View, Deploy, Operate, Manage).
SEED_TABLE = """\
Action  View  DeployOperateManage
Review Apps
View pull requestsXXXX
View Review AppsXXXX
Open Review AppsXXXX
Create Review AppsXXXX
Delete Review AppsXXXX
See build information XXX
Edit config vars XXX
CI
View testsXXXX
Create CI apps  XX
Enable CI   X
Cancel CI runs   X
"""

COLUMNS = [Permission.VIEW, Permission.DEPLOY, Permission.OPERATE, Permission.MANAGE]
ROW = re.compile(r"^(?P<action>.*?\S)\s*(?P<marks>X+)$")


def seed_table() -> dict[EphemeralAction, frozenset[Permission]]:
    table: dict[EphemeralAction, frozenset[Permission]] = {}
    for line in SEED_TABLE.splitlines():
        row = ROW.match(line)
        if row is None:
            continue  # the header and the section titles
        marks = len(row["marks"])
        table[EphemeralAction(row["action"].lower())] = frozenset(COLUMNS[len(COLUMNS) - marks :])
    return table


SEED = seed_table()
CELLS = [(action, permission) for action in EphemeralAction for permission in COLUMNS]


def test_the_copy_of_the_seed_table_has_every_row() -> None:
    assert len(SEED) == 11
    assert set(SEED) == set(EphemeralAction) == set(EPHEMERAL_CAPABILITIES)


@pytest.mark.parametrize(("action", "permission"), CELLS, ids=[f"{a.value}-{p.value}" for a, p in CELLS])
def test_every_cell_of_the_code_table_matches_the_seed(action: EphemeralAction, permission: Permission) -> None:
    expected = permission in SEED[action]

    assert (permission in EPHEMERAL_CAPABILITIES[action]) is expected
    assert ephemeral_allows(frozenset({permission}), action) is expected


# Through the API --------------------------------------------------------------------------------------------------

CREATE_EPHEMERAL = """
mutation($input: CreateEphemeralAppInput!) {
  createEphemeralApp(input: $input) { app { name } userErrors { code } }
}"""

GRANT = """
mutation($input: GrantPipelineAccessInput!) { grantPipelineAccess(input: $input) { userErrors { code } } }"""

SET_VARS = """
mutation($input: SetConfigVarsInput!) {
  setConfigVars(input: $input) { app { configVars } userErrors { code } }
}"""

APP = """
query($name: String!) { app(name: $name) { name configVars } }"""

ALL_APPS = """
query { apps(first: 100) { edges { node { name } } } }"""


@pytest.fixture
async def grantee(gql: GraphQLClient, client: httpx.AsyncClient, request: pytest.FixtureRequest) -> GraphQLClient:
    """Given ada's personal pipeline `shop` and bob, whose only access is a grant of one permission on it, made
    before ada's review app shop-pr-1 was created."""
    permission: Permission = request.param
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging")
    bob = await actor(client, "bob@example.com")
    data = await gql(
        GRANT, {"input": {"pipeline": "shop", "user": "bob@example.com", "permissions": [permission.name]}}
    )
    assert data["grantPipelineAccess"]["userErrors"] == []
    created = await gql(CREATE_EPHEMERAL, {"input": {"pipeline": "shop", "name": "shop-pr-1", "kind": "REVIEW"}})
    assert created["createEphemeralApp"]["userErrors"] == []
    return bob


def by_permission(action: EphemeralAction) -> list[tuple[Permission, bool]]:
    return [(permission, permission in SEED[action]) for permission in COLUMNS]


@pytest.mark.parametrize(
    ("grantee", "allowed"),
    by_permission(EphemeralAction.CREATE_REVIEW_APPS),
    indirect=["grantee"],
    ids=[p.value for p in COLUMNS],
)
async def test_create_review_apps(gql: GraphQLClient, grantee: GraphQLClient, allowed: bool) -> None:
    data = await grantee(CREATE_EPHEMERAL, {"input": {"pipeline": "shop", "name": "shop-pr-2", "kind": "REVIEW"}})

    errors = data["createEphemeralApp"]["userErrors"]
    assert errors == ([] if allowed else [{"code": "NO_PIPELINE_ACCESS"}])
    assert ((await gql(APP, {"name": "shop-pr-2"}))["app"] is not None) is allowed


@pytest.mark.parametrize(
    ("grantee", "allowed"),
    by_permission(EphemeralAction.CREATE_CI_APPS),
    indirect=["grantee"],
    ids=[p.value for p in COLUMNS],
)
async def test_create_ci_apps(gql: GraphQLClient, grantee: GraphQLClient, allowed: bool) -> None:
    data = await grantee(CREATE_EPHEMERAL, {"input": {"pipeline": "shop", "name": "shop-ci-1", "kind": "CI"}})

    errors = data["createEphemeralApp"]["userErrors"]
    assert errors == ([] if allowed else [{"code": "NO_PIPELINE_ACCESS"}])
    assert ((await gql(APP, {"name": "shop-ci-1"}))["app"] is not None) is allowed


@pytest.mark.parametrize(
    ("grantee", "allowed"),
    by_permission(EphemeralAction.EDIT_CONFIG_VARS),
    indirect=["grantee"],
    ids=[p.value for p in COLUMNS],
)
async def test_edit_config_vars(gql: GraphQLClient, grantee: GraphQLClient, allowed: bool) -> None:
    data = await grantee(SET_VARS, {"input": {"app": "shop-pr-1", "vars": {"DEBUG": "1"}}})

    assert data["setConfigVars"]["userErrors"] == ([] if allowed else [{"code": "FORBIDDEN"}])
    assert (await gql(APP, {"name": "shop-pr-1"}))["app"]["configVars"] == ({"DEBUG": "1"} if allowed else {})


@pytest.mark.parametrize(
    ("grantee", "allowed"),
    by_permission(EphemeralAction.VIEW_REVIEW_APPS),
    indirect=["grantee"],
    ids=[p.value for p in COLUMNS],
)
async def test_view_review_apps(grantee: GraphQLClient, allowed: bool) -> None:
    seen = (await grantee(APP, {"name": "shop-pr-1"}))["app"]
    listed = [edge["node"]["name"] for edge in (await grantee(ALL_APPS))["apps"]["edges"]]

    assert (seen is not None) is allowed
    assert listed == (["shop-pr-1"] if allowed else [])


async def test_a_grant_reaches_only_ephemeral_apps(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    # given bob granted MANAGE on the pipeline's review and CI apps
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging")
    bob = await actor(client, "bob@example.com")
    await gql(GRANT, {"input": {"pipeline": "shop", "user": "bob@example.com", "permissions": ["MANAGE"]}})

    # then the pipeline's ordinary apps stay out of his reach
    refused = await bob(SET_VARS, {"input": {"app": "shop-staging", "vars": {"DEBUG": "1"}}})

    assert refused["setConfigVars"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert (await gql(APP, {"name": "shop-staging"}))["app"]["configVars"] == {}
