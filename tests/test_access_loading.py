"""The viewer's roles and grants are read once per request, however many resolvers ask for them at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from itertools import product

import httpx
import pytest
from tortoise.connection import connections

from pipegraph.access.policy import Access
from pipegraph.access.rights import Rights
from pipegraph.access.rules import Permission
from pipegraph.apps.models import App
from pipegraph.settings import Settings
from pipegraph.teams.models import TeamRole
from tests.support.clients import Actor, GraphQLClient
from tests.support.database import is_postgres
from tests.support.sql import StatementCounter
from tests.support.team_scene import actor, add_member, create_team, team_app


async def test_concurrent_questions_load_the_viewers_rights_once(
    viewer: Actor, sql_statements: StatementCounter
) -> None:
    # given an app of the viewer's, and a fresh Access as each request has
    app = await App.create(name="shop", owner=viewer.user, stack="heroku-24", config_vars={})
    access = Access(viewer.user)
    sql_statements.statements.clear()

    # when sibling resolvers ask at the same moment
    answers = await asyncio.gather(*(access.can_view_app(app) for _ in range(5)))

    # then all are answered from one read each of the memberships, the app grants and the pipeline access grants
    assert answers == [True] * 5
    tables = [first_table(statement) for statement in sql_statements.statements]
    assert sorted(tables) == ["app_collaborators", "pipeline_access_grants", "team_memberships"], (
        sql_statements.statements
    )


def first_table(statement: str) -> str:
    return statement.split(" FROM ")[1].split()[0].strip('"')


def split_token_reads(statements: list[str]) -> tuple[list[str], list[str]]:
    """The statements reading the request's token (its rights inside), and the others."""
    token_reads = [statement for statement in statements if statement.startswith('SELECT "api_tokens".')]
    return token_reads, [statement for statement in statements if statement not in token_reads]


APPS = "{ apps(first: 10) { edges { node { name } } } }"
ADD_COLLABORATOR = """
mutation($input: AddAppCollaboratorInput!) { addAppCollaborator(input: $input) { userErrors { code } } }"""


async def test_a_query_is_answered_with_the_rights_read_along_with_its_token(
    gql: GraphQLClient, client: httpx.AsyncClient, sql_statements: StatementCounter
) -> None:
    # given bob, a member of ada's team that owns an app, and a collaborator on another of ada's apps
    await create_team(gql, name="acme")
    await team_app(gql, name="acme-web", team="acme")
    await team_app(gql, name="ada-own", team=None)
    await team_app(gql, name="ada-hidden", team=None)
    bob = await actor(client, "bob@example.com")
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")
    grant = {"app": "ada-own", "user": "bob@example.com", "permissions": ["VIEW"]}
    added = await gql(ADD_COLLABORATOR, {"input": grant})
    assert added["addAppCollaborator"]["userErrors"] == []
    sql_statements.statements.clear()

    # when bob queries
    data = await bob(APPS)

    # then the team's app and the granted one are his to see, and his rights came with the token's own statement
    assert sorted(edge["node"]["name"] for edge in data["apps"]["edges"]) == ["acme-web", "ada-own"]
    token_reads, others = split_token_reads(sql_statements.statements)
    assert len(token_reads) == 1
    assert [s for s in others if "team_memberships" in s or "app_collaborators" in s] == []


async def test_a_mutation_reads_its_own_rights(gql: GraphQLClient, sql_statements: StatementCounter) -> None:
    # given a team of ada's
    await create_team(gql, name="acme")
    sql_statements.statements.clear()

    # when she creates an app in it
    await team_app(gql, name="acme-web", team="acme")

    # then the mutation read her role itself, not the one read along with her token
    _, others = split_token_reads(sql_statements.statements)
    assert "team_memberships" in [first_table(statement) for statement in others if statement.startswith("SELECT")]


@dataclass
class _App:
    id: int
    owner_id: int
    team_id: int | None
    ephemeral: bool


def test_can_view_app_says_what_the_apps_permissions_say_for_every_kind_of_viewer() -> None:
    # given every kind of app (personal or a team's, the viewer's or not, ephemeral or not) and of viewer (each team
    # role or none, a grant of some permissions, an empty one or none)
    apps = [
        _App(id=1, owner_id=owner, team_id=team, ephemeral=ephemeral)
        for owner, team, ephemeral in product((7, 8), (None, 3), (False, True))
    ]
    grants: list[dict[int, frozenset[Permission]]] = [{}, {1: frozenset()}, {1: frozenset({Permission.DEPLOY})}]
    for role, grant in product([None, *TeamRole], grants):
        rights = Rights(viewer_id=7, roles={} if role is None else {3: role}, grants=grant)
        for app in apps:
            # then the quick check agrees with the permissions it stands for
            assert rights.can_view_app(app) == (Permission.VIEW in rights.app_permissions(app)), (role, grant, app)


@pytest.mark.parametrize("table", ["team_memberships", "app_collaborators", "pipeline_access_grants"])
async def test_the_rights_every_request_reads_are_found_by_user_through_an_index(
    settings: Settings, table: str
) -> None:
    # given the database as the committed migrations build it
    connection = connections.get("default")

    # when its indexes on the table are listed, each as its columns in order
    if is_postgres():
        rows = await connection.execute_query_dict(
            "SELECT array_agg(a.attname::text ORDER BY k.n) AS columns FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = $1::regclass GROUP BY i.indexrelid",
            [table],
        )
        indexes = [list(row["columns"]) for row in rows]
    else:
        names = [row["name"] for row in await connection.execute_query_dict(f"PRAGMA index_list('{table}')")]
        indexes = [
            [column["name"] for column in await connection.execute_query_dict(f"PRAGMA index_info('{name}')")]
            for name in names
        ]

    # then one leads with user_id: the statement that authenticates each request finds the viewer's rows by it
    assert any(columns[0] == "user_id" for columns in indexes), indexes
