"""App collaborators: Heroku's VIEW, DEPLOY, OPERATE, MANAGE on one app, given and taken by those who manage it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.clients import GraphQLClient
from tests.support.factories import create_app
from tests.support.team_scene import actor

ADD = """
mutation($input: AddAppCollaboratorInput!) {
  addAppCollaborator(input: $input) {
    app { name } collaborators { user { email } permissions } userErrors { field message code }
  }
}"""

REMOVE = """
mutation($input: RemoveAppCollaboratorInput!) {
  removeAppCollaborator(input: $input) { collaborators { user { email } } userErrors { field message code } }
}"""

COLLABORATORS = """
query($name: String!) { app(name: $name) { collaborators { user { email } permissions } } }"""

SET_VARS = """
mutation($input: SetConfigVarsInput!) { setConfigVars(input: $input) { userErrors { code } } }"""


async def collaborators(gql: GraphQLClient, app: str = "shop") -> list[dict[str, Any]] | None:
    found = (await gql(COLLABORATORS, {"name": app}))["app"]
    return found["collaborators"] if found else None


def add(app: str, user: str, permissions: list[str]) -> dict[str, Any]:
    return {"input": {"app": app, "user": user, "permissions": permissions}}


async def test_a_collaborator_gets_exactly_the_permissions_given(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    await create_app(gql, name="shop")
    bob = await actor(client, "bob@example.com")

    data = await gql(ADD, add("shop", "bob@example.com", ["VIEW"]))

    assert data["addAppCollaborator"]["collaborators"] == [
        {"user": {"email": "bob@example.com"}, "permissions": ["VIEW"]}
    ]
    assert await collaborators(bob) == [{"user": {"email": "bob@example.com"}, "permissions": ["VIEW"]}]
    viewing = await bob(SET_VARS, {"input": {"app": "shop", "vars": {"A": "1"}}})
    assert viewing["setConfigVars"]["userErrors"] == [{"code": "FORBIDDEN"}]

    await gql(ADD, add("shop", "bob@example.com", ["DEPLOY", "VIEW"]))  # replaces, never duplicates

    assert await collaborators(gql) == [{"user": {"email": "bob@example.com"}, "permissions": ["VIEW", "DEPLOY"]}]
    deploying = await bob(SET_VARS, {"input": {"app": "shop", "vars": {"A": "1"}}})
    assert deploying["setConfigVars"]["userErrors"] == []


async def test_removing_a_collaborator_takes_the_app_out_of_their_sight(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    await create_app(gql, name="shop")
    bob = await actor(client, "bob@example.com")
    await gql(ADD, add("shop", "bob@example.com", ["DEPLOY"]))

    removed = await gql(REMOVE, {"input": {"app": "shop", "user": "bob@example.com"}})
    again = await gql(REMOVE, {"input": {"app": "shop", "user": "bob@example.com"}})

    assert removed["removeAppCollaborator"] == {"collaborators": [], "userErrors": []}
    assert [error["code"] for error in again["removeAppCollaborator"]["userErrors"]] == ["NOT_FOUND"]
    assert await collaborators(bob) is None


async def test_only_those_who_manage_the_app_change_its_collaborators(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    await create_app(gql, name="shop")
    bob = await actor(client, "bob@example.com")
    eve = await actor(client, "eve@example.com")
    await gql(ADD, add("shop", "bob@example.com", ["VIEW", "DEPLOY", "OPERATE"]))
    before = await collaborators(gql)

    by_operator = await bob(ADD, add("shop", "eve@example.com", ["VIEW"]))
    by_stranger = await eve(ADD, add("shop", "eve@example.com", ["MANAGE"]))
    removal_by_operator = await bob(REMOVE, {"input": {"app": "shop", "user": "bob@example.com"}})
    empty = await gql(ADD, add("shop", "eve@example.com", []))
    unknown = await gql(ADD, add("shop", "nobody@example.com", ["VIEW"]))

    assert [e["code"] for e in by_operator["addAppCollaborator"]["userErrors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in by_stranger["addAppCollaborator"]["userErrors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in removal_by_operator["removeAppCollaborator"]["userErrors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in empty["addAppCollaborator"]["userErrors"]] == ["INVALID"]
    assert [(e["field"], e["code"]) for e in unknown["addAppCollaborator"]["userErrors"]] == [("user", "NOT_FOUND")]
    assert await collaborators(gql) == before
