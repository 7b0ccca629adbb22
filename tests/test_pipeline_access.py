"""The pipeline access tab: grants, auto-join, and review and CI apps that keep the access they were made with."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from pipegraph.api.app import create_app as create_asgi_app
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, create_pipeline
from tests.support.team_scene import actor, add_member, create_team, team_app, team_pipeline

ACCESS = """
query($name: String!) {
  pipeline(name: $name) { access { autoJoin autoJoinPermissions grants { user { email } permissions } } }
}"""

GRANT = """
mutation($input: GrantPipelineAccessInput!) {
  grantPipelineAccess(input: $input) { pipeline { name } userErrors { field message code } }
}"""

REVOKE = """
mutation($input: RevokePipelineAccessInput!) {
  revokePipelineAccess(input: $input) { pipeline { name } userErrors { field message code } }
}"""

AUTO_JOIN = """
mutation($input: UpdatePipelineAutoJoinInput!) {
  updatePipelineAutoJoin(input: $input) { pipeline { name } userErrors { field message code } }
}"""

CREATE_EPHEMERAL = """
mutation($input: CreateEphemeralAppInput!) {
  createEphemeralApp(input: $input) {
    app { name ephemeral stage pipeline { name } owner { __typename ... on Team { name } ... on User { email } } }
    userErrors { field message code }
  }
}"""

COLLABORATORS = """
query($name: String!) { app(name: $name) { collaborators { user { email } permissions } } }"""

SET_VARS = """
mutation($input: SetConfigVarsInput!) { setConfigVars(input: $input) { app { name } userErrors { code } } }"""


async def access(gql: GraphQLClient, pipeline: str = "shop") -> dict[str, Any] | None:
    data = await gql(ACCESS, {"name": pipeline})
    return data["pipeline"]["access"] if data["pipeline"] else None


async def ephemeral(gql: GraphQLClient, name: str, kind: str = "REVIEW", pipeline: str = "shop") -> dict[str, Any]:
    data = (await gql(CREATE_EPHEMERAL, {"input": {"pipeline": pipeline, "name": name, "kind": kind}}))[
        "createEphemeralApp"
    ]
    assert data["userErrors"] == [], data
    app: dict[str, Any] = data["app"]
    return app


async def collaborators(gql: GraphQLClient, app: str) -> dict[str, list[str]]:
    rows = (await gql(COLLABORATORS, {"name": app}))["app"]["collaborators"]
    return {row["user"]["email"]: row["permissions"] for row in rows}


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


@pytest.fixture
async def members(client: httpx.AsyncClient) -> dict[str, GraphQLClient]:
    return {name: await actor(client, f"{name}@example.com") for name in ("bob", "carol", "eve")}


async def team_scene(gql: GraphQLClient, kind: str) -> None:
    """Given team acme of `kind`: ada admin, bob member, carol collaborator; pipeline shop owned by acme."""
    await create_team(gql, name="acme", kind=kind)
    await add_member(gql, team="acme", user="bob@example.com", role="MEMBER")
    await add_member(gql, team="acme", user="carol@example.com", role="COLLABORATOR")
    await team_app(gql, name="shop-staging", team="acme")
    await team_pipeline(gql, name="shop", app="shop-staging", team="acme")


async def test_new_pipelines_auto_join_members_with_view_deploy_operate(
    gql: GraphQLClient, members: dict[str, GraphQLClient]
) -> None:
    await team_scene(gql, "ENTERPRISE_TEAM")

    assert await access(gql) == {
        "autoJoin": True,
        "autoJoinPermissions": ["VIEW", "DEPLOY", "OPERATE"],
        "grants": [],
    }

    app = await ephemeral(members["bob"], "shop-pr-1")

    assert app == {
        "name": "shop-pr-1",
        "ephemeral": True,
        "stage": "REVIEW",
        "pipeline": {"name": "shop"},
        "owner": {"__typename": "Team", "name": "acme"},
    }
    assert await collaborators(gql, "shop-pr-1") == {"bob@example.com": ["VIEW", "DEPLOY", "OPERATE"]}


async def test_ci_apps_sit_in_the_test_stage(gql: GraphQLClient, members: dict[str, GraphQLClient]) -> None:
    await team_scene(gql, "TEAM")

    app = await ephemeral(gql, "shop-ci-1", kind="CI")

    assert (app["stage"], app["ephemeral"]) == ("TEST", True)


async def test_access_changes_apply_to_apps_created_afterwards_only(
    gql: GraphQLClient, members: dict[str, GraphQLClient]
) -> None:
    # given an enterprise pipeline and a review app made under its default access
    await team_scene(gql, "ENTERPRISE_TEAM")
    await ephemeral(gql, "shop-pr-1")

    # when auto-join goes to VIEW only, and carol is granted OPERATE
    changed = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": True, "permissions": ["VIEW"]}})
    granted = await gql(GRANT, {"input": {"pipeline": "shop", "user": "carol@example.com", "permissions": ["OPERATE"]}})
    assert codes(changed["updatePipelineAutoJoin"]) == codes(granted["grantPipelineAccess"]) == []
    await ephemeral(gql, "shop-pr-2")
    # and then auto-join is turned off and carol's grant revoked
    off = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": False}})
    revoked = await gql(REVOKE, {"input": {"pipeline": "shop", "user": "carol@example.com"}})
    assert codes(off["updatePipelineAutoJoin"]) == codes(revoked["revokePipelineAccess"]) == []
    await ephemeral(gql, "shop-pr-3")

    # then each app kept the access it was created with
    assert await collaborators(gql, "shop-pr-1") == {"bob@example.com": ["VIEW", "DEPLOY", "OPERATE"]}
    assert await collaborators(gql, "shop-pr-2") == {"bob@example.com": ["VIEW"], "carol@example.com": ["OPERATE"]}
    assert await collaborators(gql, "shop-pr-3") == {}
    assert await access(gql) == {"autoJoin": False, "autoJoinPermissions": ["VIEW"], "grants": []}
    # and a member works on the apps by what each one stored: deploy on the first, nothing on the last
    bob = members["bob"]
    first = await bob(SET_VARS, {"input": {"app": "shop-pr-1", "vars": {"A": "1"}}})
    last = await bob(SET_VARS, {"input": {"app": "shop-pr-3", "vars": {"A": "1"}}})
    assert codes(first["setConfigVars"]) == []
    assert codes(last["setConfigVars"]) == ["NOT_FOUND"]
    assert (await bob(COLLABORATORS, {"name": "shop-pr-3"}))["app"] is None


async def test_heroku_team_auto_join_is_static(gql: GraphQLClient, members: dict[str, GraphQLClient]) -> None:
    await team_scene(gql, "TEAM")
    before = await access(gql)

    disable = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": False}})
    widen = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": True, "permissions": ["MANAGE"]}})
    member_grant = await gql(GRANT, {"input": {"pipeline": "shop", "user": "bob@example.com", "permissions": ["VIEW"]}})
    collaborator_grant = await gql(
        GRANT, {"input": {"pipeline": "shop", "user": "carol@example.com", "permissions": ["DEPLOY"]}}
    )

    assert codes(disable["updatePipelineAutoJoin"]) == ["PERMISSIONS_STATIC"]
    assert codes(widen["updatePipelineAutoJoin"]) == ["PERMISSIONS_STATIC"]
    assert codes(member_grant["grantPipelineAccess"]) == ["PERMISSIONS_STATIC"]
    assert codes(collaborator_grant["grantPipelineAccess"]) == []
    assert before is not None
    assert await access(gql) == {
        **before,
        "grants": [{"user": {"email": "carol@example.com"}, "permissions": ["DEPLOY"]}],
    }


async def test_personal_pipelines_have_grants_but_no_auto_join(
    gql: GraphQLClient, members: dict[str, GraphQLClient]
) -> None:
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging")

    refused = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": True}})
    granted = await gql(
        GRANT, {"input": {"pipeline": "shop", "user": "bob@example.com", "permissions": ["DEPLOY", "VIEW"]}}
    )

    assert codes(refused["updatePipelineAutoJoin"]) == ["AUTO_JOIN_NOT_AVAILABLE"]
    assert codes(granted["grantPipelineAccess"]) == []
    assert await access(gql) == {
        "autoJoin": False,
        "autoJoinPermissions": [],
        "grants": [{"user": {"email": "bob@example.com"}, "permissions": ["VIEW", "DEPLOY"]}],
    }
    app = await ephemeral(gql, "shop-pr-1")
    assert app["owner"] == {"__typename": "User", "email": "ada@example.com"}
    assert await collaborators(gql, "shop-pr-1") == {"bob@example.com": ["VIEW", "DEPLOY"]}


@pytest.mark.parametrize(("who", "code"), [("bob", "FORBIDDEN"), ("carol", "NOT_FOUND"), ("eve", "NOT_FOUND")])
async def test_only_team_admins_manage_pipeline_access(
    gql: GraphQLClient, members: dict[str, GraphQLClient], who: str, code: str
) -> None:
    await team_scene(gql, "ENTERPRISE_TEAM")
    before = await access(gql)
    someone = members[who]

    attempts = [
        (await someone(GRANT, {"input": {"pipeline": "shop", "user": "eve@example.com", "permissions": ["VIEW"]}}))[
            "grantPipelineAccess"
        ],
        (await someone(REVOKE, {"input": {"pipeline": "shop", "user": "bob@example.com"}}))["revokePipelineAccess"],
        (await someone(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": False}}))["updatePipelineAutoJoin"],
    ]

    assert [codes(attempt) for attempt in attempts] == [[code]] * 3
    assert await access(gql) == before
    # the access tab itself shows to the owner and the team's admins and members
    assert await access(someone) == (before if who == "bob" else None)


async def test_a_grant_needs_a_permission_and_a_revoke_a_grant(
    gql: GraphQLClient, members: dict[str, GraphQLClient]
) -> None:
    await team_scene(gql, "ENTERPRISE_TEAM")

    empty = await gql(GRANT, {"input": {"pipeline": "shop", "user": "carol@example.com", "permissions": []}})
    missing = await gql(REVOKE, {"input": {"pipeline": "shop", "user": "carol@example.com"}})

    assert codes(empty["grantPipelineAccess"]) == ["INVALID"]
    assert codes(missing["revokePipelineAccess"]) == ["NOT_FOUND"]
    assert (await access(gql) or {})["grants"] == []


async def test_auto_join_needs_a_permission_and_keeps_its_own_while_off(
    gql: GraphQLClient, members: dict[str, GraphQLClient]
) -> None:
    await team_scene(gql, "ENTERPRISE_TEAM")
    await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": True, "permissions": ["DEPLOY"]}})

    empty = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": True, "permissions": []}})
    off = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": False, "permissions": []}})
    assert codes(empty["updatePipelineAutoJoin"]) == ["INVALID"]
    assert codes(off["updatePipelineAutoJoin"]) == []
    on = await gql(AUTO_JOIN, {"input": {"pipeline": "shop", "enabled": True}})

    assert codes(on["updatePipelineAutoJoin"]) == []
    assert await access(gql) == {"autoJoin": True, "autoJoinPermissions": ["DEPLOY"], "grants": []}
    await ephemeral(gql, "shop-pr-1")
    assert await collaborators(gql, "shop-pr-1") == {"bob@example.com": ["DEPLOY"]}


async def test_a_second_grant_replaces_the_first(gql: GraphQLClient, members: dict[str, GraphQLClient]) -> None:
    await team_scene(gql, "ENTERPRISE_TEAM")

    for permissions in (["VIEW"], ["MANAGE", "OPERATE"]):
        await gql(GRANT, {"input": {"pipeline": "shop", "user": "carol@example.com", "permissions": permissions}})

    assert (await access(gql) or {})["grants"] == [
        {"user": {"email": "carol@example.com"}, "permissions": ["OPERATE", "MANAGE"]}
    ]


SEEN = """
query($name: String!) {
  pipeline(name: $name) { name viewerPermissions viewerRights stages { name apps { name } } }
  pipelines(first: 10) { edges { node { name } } }
  app(name: "shop-staging") { name }
}"""


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-reads", "resolvers"])
async def test_a_grant_lets_its_holder_see_the_pipeline_but_not_its_apps(
    gql: GraphQLClient, members: dict[str, GraphQLClient], settings: Settings, compiled: bool
) -> None:
    # given eve, outside team acme, with no permission on any of its apps
    await team_scene(gql, "ENTERPRISE_TEAM")
    app = create_asgi_app(replace(settings, compiled_reads=compiled), manage_db=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        eve = GraphQLClient(http, members["eve"].actor)
        assert await eve(SEEN, {"name": "shop"}) == {"pipeline": None, "pipelines": {"edges": []}, "app": None}

        # when an admin grants her OPERATE on the pipeline's review and CI apps
        granted = await gql(
            GRANT, {"input": {"pipeline": "shop", "user": "eve@example.com", "permissions": ["OPERATE"]}}
        )
        assert codes(granted["grantPipelineAccess"]) == []

        # then she sees the pipeline, and what she was granted, but none of its apps
        seen = await eve(SEEN, {"name": "shop"})
        assert seen["pipeline"]["name"] == "shop"
        assert (seen["pipeline"]["viewerPermissions"], seen["pipeline"]["viewerRights"]) == (["OPERATE"], ["VIEW"])
        assert all(stage["apps"] == [] for stage in seen["pipeline"]["stages"])
        assert seen["pipelines"] == {"edges": [{"node": {"name": "shop"}}]}
        assert seen["app"] is None

        # and once the grant is revoked, she sees it no more
        revoked = await gql(REVOKE, {"input": {"pipeline": "shop", "user": "eve@example.com"}})
        assert codes(revoked["revokePipelineAccess"]) == []
        assert await eve(SEEN, {"name": "shop"}) == {"pipeline": None, "pipelines": {"edges": []}, "app": None}
