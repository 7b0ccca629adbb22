"""Teams: creation, membership and roles; team-owned apps and pipelines; `owner` as a User or a Team."""

from __future__ import annotations

import httpx
import pytest

from tests.support.clients import GraphQLClient
from tests.support.factories import CREATE_APP, CREATE_PIPELINE, create_app
from tests.support.team_scene import ADD_MEMBER, CREATE_TEAM, actor, add_member, create_team, team_app, team_pipeline

TEAM = """
query($id: ID!) { node(id: $id) { ... on Team { name kind members { role user { email } } } } }"""

VIEWER_TEAMS = """
query { viewer { email teams { name kind } } }"""

REMOVE_MEMBER = """
mutation($input: RemoveTeamMemberInput!) {
  removeTeamMember(input: $input) { team { members { role user { email } } } userErrors { field message code } }
}"""

SET_ROLE = """
mutation($input: SetTeamMemberRoleInput!) {
  setTeamMemberRole(input: $input) { team { members { role user { email } } } userErrors { field message code } }
}"""

OWNERS = """
query($app: String!, $pipeline: String!) {
  app(name: $app) { owner { __typename ... on Team { name } ... on User { email } } }
  pipeline(name: $pipeline) { owner { __typename ... on Team { name kind } ... on User { email } } }
}"""


async def members(gql: GraphQLClient, team_id: str) -> list[tuple[str, str]]:
    team = (await gql(TEAM, {"id": team_id}))["node"]
    return [(member["user"]["email"], member["role"]) for member in team["members"]]


async def test_the_creator_of_a_team_is_its_admin(gql: GraphQLClient) -> None:
    team = await create_team(gql, name="acme", kind="ENTERPRISE_TEAM")

    assert team["name"] == "acme"
    assert team["kind"] == "ENTERPRISE_TEAM"
    assert team["members"] == [{"role": "ADMIN", "user": {"email": "ada@example.com"}}]
    assert (await gql(VIEWER_TEAMS))["viewer"]["teams"] == [{"name": "acme", "kind": "ENTERPRISE_TEAM"}]


@pytest.mark.parametrize(
    ("name", "code"), [("Acme", "INVALID_NAME"), ("ac", "INVALID_NAME"), ("9lives", "INVALID_NAME")]
)
async def test_team_names_follow_herokus_rule(gql: GraphQLClient, name: str, code: str) -> None:
    data = await gql(CREATE_TEAM, {"input": {"name": name, "kind": "TEAM"}})

    assert data["createTeam"]["team"] is None
    assert [error["code"] for error in data["createTeam"]["userErrors"]] == [code]
    assert (await gql(VIEWER_TEAMS))["viewer"]["teams"] == []


async def test_a_team_name_is_taken_once(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    await create_team(gql, name="acme")
    bob = await actor(client, "bob@example.com")

    data = await bob(CREATE_TEAM, {"input": {"name": "acme", "kind": "TEAM"}})

    assert data["createTeam"]["userErrors"][0]["code"] == "NAME_TAKEN"
    assert (await bob(VIEWER_TEAMS))["viewer"]["teams"] == []


async def test_admins_add_members_with_roles_and_only_admins_may(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    team = await create_team(gql, name="acme")
    bob = await actor(client, "bob@example.com")
    carol = await actor(client, "carol@example.com")
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")
    await add_member(gql, team=team["id"], user="carol@example.com", role="COLLABORATOR")

    refused = await bob(ADD_MEMBER, {"input": {"team": "acme", "user": "ada@example.com", "role": "ADMIN"}})
    unseen = await (await actor(client, "dan@example.com"))(
        ADD_MEMBER, {"input": {"team": "acme", "user": "dan@example.com", "role": "ADMIN"}}
    )
    again = await gql(ADD_MEMBER, {"input": {"team": "acme", "user": "bob@example.com", "role": "ADMIN"}})
    nobody = await gql(ADD_MEMBER, {"input": {"team": "acme", "user": "nobody@example.com", "role": "MEMBER"}})

    assert refused["addTeamMember"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert unseen["addTeamMember"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert again["addTeamMember"]["userErrors"][0]["code"] == "ALREADY_TEAM_MEMBER"
    assert nobody["addTeamMember"]["userErrors"][0]["field"] == "user"
    assert await members(gql, team["id"]) == [
        ("ada@example.com", "ADMIN"),
        ("bob@example.com", "MEMBER"),
        ("carol@example.com", "COLLABORATOR"),
    ]
    assert (await carol(VIEWER_TEAMS))["viewer"]["teams"] == [{"name": "acme", "kind": "TEAM"}]


async def test_a_team_is_invisible_to_outsiders(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    team = await create_team(gql, name="acme")
    stranger = await actor(client, "eve@example.com")

    assert (await stranger(TEAM, {"id": team["id"]}))["node"] is None


async def test_a_team_keeps_an_admin_and_members_may_leave(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    team = await create_team(gql, name="acme")
    bob = await actor(client, "bob@example.com")
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")

    last_admin_leaves = await gql(REMOVE_MEMBER, {"input": {"team": "acme", "user": "ada@example.com"}})
    last_admin_demoted = await gql(SET_ROLE, {"input": {"team": "acme", "user": "ada@example.com", "role": "MEMBER"}})
    member_removes_admin = await bob(REMOVE_MEMBER, {"input": {"team": "acme", "user": "ada@example.com"}})
    assert last_admin_leaves["removeTeamMember"]["userErrors"][0]["code"] == "LAST_TEAM_ADMIN"
    assert last_admin_demoted["setTeamMemberRole"]["userErrors"][0]["code"] == "LAST_TEAM_ADMIN"
    assert member_removes_admin["removeTeamMember"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert await members(gql, team["id"]) == [("ada@example.com", "ADMIN"), ("bob@example.com", "MEMBER")]

    left = await bob(REMOVE_MEMBER, {"input": {"team": "acme", "user": "bob@example.com"}})

    assert left["removeTeamMember"]["userErrors"] == []
    assert await members(gql, team["id"]) == [("ada@example.com", "ADMIN")]
    assert (await bob(VIEWER_TEAMS))["viewer"]["teams"] == []


async def test_with_a_second_admin_the_first_may_step_down(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    team = await create_team(gql, name="acme")
    await actor(client, "bob@example.com")
    await add_member(gql, team="acme", user="bob@example.com", role="ADMIN")

    data = await gql(SET_ROLE, {"input": {"team": "acme", "user": "ada@example.com", "role": "COLLABORATOR"}})

    assert data["setTeamMemberRole"]["userErrors"] == []
    assert await members(gql, team["id"]) == [("ada@example.com", "COLLABORATOR"), ("bob@example.com", "ADMIN")]


async def test_team_apps_and_pipelines_are_owned_by_the_team(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    await create_team(gql, name="acme")
    bob = await actor(client, "bob@example.com")
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")

    await team_app(bob, name="shop-staging", team="acme")
    await team_pipeline(gql, name="shop", app="shop-staging", team="acme")  # members lack manage on team apps
    await create_app(gql, name="blog")
    await gql(CREATE_PIPELINE, {"input": {"name": "blog-line", "app": "blog"}})

    team_owned = await gql(OWNERS, {"app": "shop-staging", "pipeline": "shop"})
    personal = await gql(OWNERS, {"app": "blog", "pipeline": "blog-line"})
    assert team_owned["app"]["owner"] == {"__typename": "Team", "name": "acme"}
    assert team_owned["pipeline"]["owner"] == {"__typename": "Team", "name": "acme", "kind": "TEAM"}
    assert personal["app"]["owner"] == {"__typename": "User", "email": "ada@example.com"}
    assert personal["pipeline"]["owner"] == {"__typename": "User", "email": "ada@example.com"}


@pytest.mark.parametrize("role", ["COLLABORATOR", None])
async def test_only_admins_and_members_create_team_apps(
    gql: GraphQLClient, client: httpx.AsyncClient, role: str | None
) -> None:
    await create_team(gql, name="acme")
    carol = await actor(client, "carol@example.com")
    if role:
        await add_member(gql, team="acme", user="carol@example.com", role=role)

    data = await carol(CREATE_APP, {"input": {"name": "sneaky", "team": "acme"}})

    assert data["createApp"]["app"] is None
    assert data["createApp"]["userErrors"][0]["code"] == ("FORBIDDEN" if role else "NOT_FOUND")
    assert (await gql('query { app(name: "sneaky") { name } }'))["app"] is None
