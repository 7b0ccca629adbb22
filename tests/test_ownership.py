"""Pipeline ownership by Heroku's rules: foreign apps, moving them to the owner, and transfers, each recorded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, create_pipeline
from tests.support.team_scene import actor, add_member, create_team, team_app, team_pipeline

TRANSFER = """
mutation($input: TransferPipelineInput!) {
  transferPipeline(input: $input) {
    pipeline { name owner { __typename ... on Team { name } ... on User { email } } }
    transfer { previousOwner { ... on Team { name } ... on User { email } } }
    userErrors { field message code }
  }
}"""

TRANSFER_APPS = """
mutation($input: TransferAppsToPipelineOwnerInput!) {
  transferAppsToPipelineOwner(input: $input) {
    transferredApps { name }
    pipeline { foreignApps { name } }
    userErrors { field message code }
  }
}"""

ADD_APP = """
mutation($input: AddAppToPipelineInput!) { addAppToPipeline(input: $input) { userErrors { code message } } }"""

OWNERSHIP = """
query($name: String!) {
  pipeline(name: $name) {
    owner { __typename ... on Team { name } ... on User { email } }
    apps { name owner { __typename ... on Team { name } ... on User { email } } }
    foreignApps { name }
    transfers {
      previousOwner { __typename ... on Team { name } ... on User { email } }
      newOwner { __typename ... on Team { name } ... on User { email } }
      transferredBy { email }
      createdAt
    }
  }
}"""

ADA = {"__typename": "User", "email": "ada@example.com"}
BOB = {"__typename": "User", "email": "bob@example.com"}
ACME = {"__typename": "Team", "name": "acme"}


async def ownership(gql: GraphQLClient, name: str = "shop") -> dict[str, Any]:
    pipeline: dict[str, Any] = (await gql(OWNERSHIP, {"name": name}))["pipeline"]
    return pipeline


def owners(pipeline: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {app["name"]: app["owner"] for app in pipeline["apps"]}


async def transfer(gql: GraphQLClient, new_owner: dict[str, str], pipeline: str = "shop") -> dict[str, Any]:
    result: dict[str, Any] = (await gql(TRANSFER, {"input": {"pipeline": pipeline, "newOwner": new_owner}}))[
        "transferPipeline"
    ]
    return result


@pytest.fixture
async def personal(gql: GraphQLClient, client: httpx.AsyncClient) -> GraphQLClient:
    """Given ada's personal pipeline `shop` (shop-staging, shop-prod), team acme (ada admin, bob member,
    carol collaborator) and team other (where ada is only a collaborator)."""
    await create_app(gql, name="shop-staging")
    await create_app(gql, name="shop-prod")
    await create_pipeline(gql, name="shop", app="shop-staging")
    await create_app_in(gql, "shop", "shop-prod", "PRODUCTION")
    await create_team(gql, name="acme")
    bob = await actor(client, "bob@example.com")
    await actor(client, "carol@example.com")
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")
    await add_member(gql, team="acme", user="carol@example.com", role="COLLABORATOR")
    await create_team(bob, name="other")
    await add_member(bob, team="other", user="ada@example.com", role="COLLABORATOR")
    return bob


async def create_app_in(gql: GraphQLClient, pipeline: str, app: str, stage: str) -> None:
    data = await gql(ADD_APP, {"input": {"pipeline": pipeline, "app": app, "stage": stage}})
    assert data["addAppToPipeline"]["userErrors"] == [], data


async def test_a_personal_pipeline_goes_to_a_team_of_its_owner_with_its_apps(
    gql: GraphQLClient, personal: GraphQLClient
) -> None:
    moved = await transfer(gql, {"team": "acme"})

    assert moved["userErrors"] == []
    assert moved["pipeline"]["owner"] == ACME
    assert moved["transfer"] == {"previousOwner": {"email": "ada@example.com"}}
    after = await ownership(gql)
    assert after["owner"] == ACME
    assert owners(after) == {"shop-staging": ACME, "shop-prod": ACME}
    assert after["foreignApps"] == []
    [record] = after["transfers"]
    assert record["previousOwner"] == ADA
    assert record["newOwner"] == ACME
    assert record["transferredBy"] == {"email": "ada@example.com"}
    assert record["createdAt"]


@pytest.mark.parametrize(
    ("new_owner", "code"),
    [
        ({"user": "bob@example.com"}, "TRANSFER_NOT_ALLOWED"),  # never person to person
        ({"team": "other"}, "NEW_OWNER_NOT_TEAM_MEMBER"),  # ada is only a collaborator there
        ({"team": "nope"}, "NOT_FOUND"),
    ],
)
async def test_a_personal_pipeline_goes_nowhere_else(
    gql: GraphQLClient, personal: GraphQLClient, new_owner: dict[str, str], code: str
) -> None:
    before = await ownership(gql)

    refused = await transfer(gql, new_owner)

    assert refused["pipeline"] is None
    assert [(error["field"], error["code"]) for error in refused["userErrors"]] == [("newOwner", code)]
    assert await ownership(gql) == before
    assert before["transfers"] == []


async def test_a_person_cannot_transfer_a_pipeline_into_a_team_they_are_not_in(
    client: httpx.AsyncClient, personal: GraphQLClient
) -> None:
    dan = await actor(client, "dan@example.com")
    await create_app(dan, name="dan-app")
    await create_pipeline(dan, name="dans", app="dan-app")

    refused = await transfer(dan, {"team": "acme"}, pipeline="dans")

    assert [(error["field"], error["code"]) for error in refused["userErrors"]] == [("newOwner", "NOT_FOUND")]
    assert (await ownership(dan, "dans"))["owner"] == {"__typename": "User", "email": "dan@example.com"}


async def test_only_the_owner_transfers_a_personal_pipeline(gql: GraphQLClient, personal: GraphQLClient) -> None:
    # bob is in acme with ada but holds nothing on ada's pipeline: he cannot even see it
    refused = await transfer(personal, {"team": "acme"})

    assert refused["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await ownership(gql))["owner"] == ADA


@pytest.fixture
async def team_owned(gql: GraphQLClient, personal: GraphQLClient) -> GraphQLClient:
    """Given `shop` moved into acme."""
    assert (await transfer(gql, {"team": "acme"}))["userErrors"] == []
    return personal


@pytest.mark.parametrize("member", ["bob@example.com", "ada@example.com"])
async def test_a_team_pipeline_goes_to_any_admin_or_member_of_the_team(
    gql: GraphQLClient, team_owned: GraphQLClient, member: str
) -> None:
    moved = await transfer(gql, {"user": member})

    assert moved["userErrors"] == []
    after = await ownership(gql) if member == "ada@example.com" else await ownership(team_owned)
    person = {"__typename": "User", "email": member}
    assert after["owner"] == person
    assert owners(after) == {"shop-staging": person, "shop-prod": person}
    assert [(r["previousOwner"], r["newOwner"]) for r in after["transfers"]] == [(ACME, person), (ADA, ACME)]


@pytest.mark.parametrize(
    ("new_owner", "code"),
    [
        ({"user": "carol@example.com"}, "NEW_OWNER_NOT_TEAM_MEMBER"),  # a team collaborator is not a member
        ({"user": "eve@example.com"}, "NOT_FOUND"),
        ({"team": "other"}, "TRANSFER_NOT_ALLOWED"),  # Heroku names no team-to-team transfer
        ({"team": "acme"}, "ALREADY_OWNER"),
    ],
)
async def test_a_team_pipeline_goes_to_no_one_else(
    gql: GraphQLClient, team_owned: GraphQLClient, new_owner: dict[str, str], code: str
) -> None:
    before = await ownership(gql)

    refused = await transfer(gql, new_owner)

    assert [error["code"] for error in refused["userErrors"]] == [code]
    assert await ownership(gql) == before


async def test_team_members_who_are_not_admins_cannot_transfer(gql: GraphQLClient, team_owned: GraphQLClient) -> None:
    before = await ownership(gql)

    refused = await transfer(team_owned, {"user": "bob@example.com"})

    assert [error["code"] for error in refused["userErrors"]] == ["FORBIDDEN"]
    assert await ownership(gql) == before


async def test_the_new_owner_input_takes_exactly_one_of_team_or_user(
    gql: GraphQLClient, personal: GraphQLClient
) -> None:
    body = await gql.raw(TRANSFER, {"input": {"pipeline": "shop", "newOwner": {"team": "acme", "user": "x@y.z"}}})

    assert body["errors"]
    assert (await ownership(gql))["owner"] == ADA


async def test_a_transfer_moves_only_the_apps_its_previous_owner_held(
    gql: GraphQLClient, client: httpx.AsyncClient, personal: GraphQLClient
) -> None:
    # given an app of acme's in ada's personal pipeline: foreign to it
    await team_app(personal, name="shop-dev", team="acme")
    await create_app_in(gql, "shop", "shop-dev", "DEVELOPMENT")
    assert [app["name"] for app in (await ownership(gql))["foreignApps"]] == ["shop-dev"]

    # when ada moves the pipeline to acme, then back to herself
    assert (await transfer(gql, {"team": "acme"}))["userErrors"] == []
    assert (await ownership(gql))["foreignApps"] == []
    assert (await transfer(gql, {"user": "ada@example.com"}))["userErrors"] == []

    # then every app that acme held came back with it, shop-dev included (acme held it by then)
    after = await ownership(gql)
    assert owners(after) == {"shop-staging": ADA, "shop-prod": ADA, "shop-dev": ADA}


async def test_foreign_apps_move_to_the_pipeline_owner_all_or_none(
    gql: GraphQLClient, client: httpx.AsyncClient, personal: GraphQLClient
) -> None:
    # given acme's pipeline with ada's personal app and bob's personal app in it
    await team_app(gql, name="acme-web", team="acme")
    await team_pipeline(gql, name="acme-line", app="acme-web", team="acme")
    await create_app(gql, name="ada-worker")
    await create_app_in(gql, "acme-line", "ada-worker", "STAGING")
    await create_app(personal, name="bob-worker")
    data = await personal(ADD_APP, {"input": {"pipeline": "acme-line", "app": "bob-worker", "stage": "REVIEW"}})
    assert data["addAppToPipeline"]["userErrors"] == []
    before = await ownership(gql, "acme-line")
    assert [app["name"] for app in before["foreignApps"]] == ["ada-worker"]  # bob's app is not visible to ada

    # when ada, who cannot manage bob's app, moves the foreign apps: none moves
    refused = (await gql(TRANSFER_APPS, {"input": {"pipeline": "acme-line"}}))["transferAppsToPipelineOwner"]
    assert [error["code"] for error in refused["userErrors"]] == ["FORBIDDEN"]
    assert "bob-worker" not in refused["userErrors"][0]["message"]
    assert await ownership(gql, "acme-line") == before

    # when bob makes ada a collaborator with manage on his app: all move
    await gql_add_collaborator(personal, app="bob-worker", user="ada@example.com", permissions=["MANAGE"])
    moved = (await gql(TRANSFER_APPS, {"input": {"pipeline": "acme-line"}}))["transferAppsToPipelineOwner"]
    assert moved["userErrors"] == []
    assert sorted(app["name"] for app in moved["transferredApps"]) == ["ada-worker", "bob-worker"]
    assert moved["pipeline"]["foreignApps"] == []
    assert owners(await ownership(gql, "acme-line")) == {"acme-web": ACME, "ada-worker": ACME, "bob-worker": ACME}


async def test_members_cannot_move_foreign_apps(gql: GraphQLClient, personal: GraphQLClient) -> None:
    await team_app(gql, name="acme-web", team="acme")
    await team_pipeline(gql, name="acme-line", app="acme-web", team="acme")
    await create_app(gql, name="ada-worker")
    await create_app_in(gql, "acme-line", "ada-worker", "STAGING")

    refused = (await personal(TRANSFER_APPS, {"input": {"pipeline": "acme-line"}}))["transferAppsToPipelineOwner"]

    assert [error["code"] for error in refused["userErrors"]] == ["FORBIDDEN"]
    assert [app["name"] for app in (await ownership(gql, "acme-line"))["foreignApps"]] == ["ada-worker"]


ADD_COLLABORATOR = """
mutation($input: AddAppCollaboratorInput!) {
  addAppCollaborator(input: $input) { collaborators { user { email } permissions } userErrors { code message } }
}"""


async def gql_add_collaborator(gql: GraphQLClient, *, app: str, user: str, permissions: list[str]) -> None:
    data = await gql(ADD_COLLABORATOR, {"input": {"app": app, "user": user, "permissions": permissions}})
    assert data["addAppCollaborator"]["userErrors"] == [], data
