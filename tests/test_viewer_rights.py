"""`viewerPermissions` and `viewerRights`: what a client may offer the viewer, from the same rules that enforce it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.ci_scene import CREATE_TEST_RUN, ENABLE_CI
from tests.support.clients import GraphQLClient, make_actor
from tests.support.factories import create_app, create_pipeline, deploy
from tests.support.promotion_scene import shop_pipeline
from tests.test_pipeline_access import GRANT

RIGHTS = """
query { pipeline(name: "shop") { viewerRights stages { name apps { name viewerPermissions } } } }"""

SHARE = """
mutation($app: String!, $user: String!, $permissions: [Permission!]!) {
  addAppCollaborator(input: {app: $app, user: $user, permissions: $permissions}) { userErrors { code message } } }"""

ADD_COLLABORATOR = """
mutation { addAppCollaborator(input: {app: "shop-staging", user: "grace@example.com", permissions: [DEPLOY]}) {
  userErrors { code message } } }"""


async def test_the_owner_may_do_everything_and_a_collaborator_what_was_shared(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    # given ada's pipeline, and grace a deploy collaborator on its app
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging", stage="staging")
    grace = await make_actor("grace@example.com")
    assert (await gql(ADD_COLLABORATOR))["addAppCollaborator"]["userErrors"] == []

    # when each asks what they may do
    ada = (await gql(RIGHTS))["pipeline"]
    theirs = (await GraphQLClient(client, grace)(RIGHTS))["pipeline"]

    # then ada administers the pipeline and has every permission; grace sees it, and has deploy (with view) on her app
    assert ada["viewerRights"] == ["VIEW", "MEMBER", "ADMIN"]
    staging = {stage["name"]: stage["apps"] for stage in ada["stages"]}["STAGING"]
    assert staging == [{"name": "shop-staging", "viewerPermissions": ["VIEW", "DEPLOY", "OPERATE", "MANAGE"]}]
    assert theirs["viewerRights"] == ["VIEW"]
    apps = [app for stage in theirs["stages"] for app in stage["apps"]]
    assert apps == [{"name": "shop-staging", "viewerPermissions": ["VIEW", "DEPLOY"]}]


PIPELINE_HOLD = """
query { pipeline(name: "shop") { viewerRights viewerPermissions
  stages { name apps { name viewerPermissions } } } }"""

PROMOTE_INTO = """
mutation($to: String!) { promote(input: {source: "shop-staging", to: [$to]}) { userErrors { code } } }"""

# Refusals that are about who asks; any other outcome (done, or refused for the state of things) is an acceptance.
NOT_ALLOWED = {"FORBIDDEN", "NOT_FOUND", "NO_PIPELINE_ACCESS"}


def accepted(payload: dict[str, Any]) -> bool:
    return not {error["code"] for error in payload["userErrors"]} & NOT_ALLOWED


async def test_the_pipelines_viewer_permissions_say_what_the_ci_and_promote_mutations_accept(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    # given ada's pipeline, access-tab grants for non-members (bob operate, carol manage, dave view), and grace who
    # only collaborates (deploy) on shop-prod-eu and views shop-staging
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    for name, permissions in (("bob", ["VIEW", "OPERATE"]), ("carol", ["MANAGE"]), ("dave", ["VIEW"])):
        await make_actor(f"{name}@example.com")
        granted = await gql(
            GRANT, {"input": {"pipeline": "shop", "user": f"{name}@example.com", "permissions": permissions}}
        )
        assert granted["grantPipelineAccess"]["userErrors"] == []
    people = {"ada": gql}
    for name in ("bob", "carol", "dave", "grace"):
        people[name] = GraphQLClient(client, await make_actor(f"{name}@example.com"))
    for app, permission in (("shop-prod-eu", "DEPLOY"), ("shop-staging", "VIEW")):
        shared = await gql(SHARE, {"app": app, "user": "grace@example.com", "permissions": [permission]})
        assert shared["addAppCollaborator"]["userErrors"] == []
    # (one who sees no app of it is told nothing: its pipeline is null for them)
    for name in ("bob", "carol", "dave"):
        shared = await gql(SHARE, {"app": "shop-staging", "user": f"{name}@example.com", "permissions": ["VIEW"]})
        assert shared["addAppCollaborator"]["userErrors"] == []
    assert (await gql(ENABLE_CI, {"input": {"pipeline": "shop"}}))["enableCi"]["userErrors"] == []

    for name, who in people.items():
        # when each reads what they hold, then tries what the dashboard would offer on that ground
        hold = (await who(PIPELINE_HOLD))["pipeline"]
        rights, permissions = set(hold["viewerRights"]), set(hold["viewerPermissions"])
        may_enable = "ADMIN" in rights or "MANAGE" in permissions
        may_start = "MEMBER" in rights or bool(permissions & {"OPERATE", "MANAGE"})
        enabled = (await who(ENABLE_CI, {"input": {"pipeline": "shop"}}))["enableCi"]
        started = (await who(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}}))["createTestRun"]

        # then the API accepts exactly what their permissions and rights promise
        assert accepted(enabled) is may_enable, (name, hold, enabled)
        assert accepted(started) is may_start, (name, hold, started)
        for app in (app for stage in hold["stages"] for app in stage["apps"] if stage["name"] == "PRODUCTION"):
            promoted = (await who(PROMOTE_INTO, {"to": app["name"]}))["promote"]
            assert accepted(promoted) is ("DEPLOY" in app["viewerPermissions"]), (name, app, promoted)

    # and each holds what was granted: the access tab's grants are theirs to read, in Heroku's order
    holds = {name: (await who(PIPELINE_HOLD))["pipeline"]["viewerPermissions"] for name, who in people.items()}
    assert holds == {"ada": [], "bob": ["VIEW", "OPERATE"], "carol": ["MANAGE"], "dave": ["VIEW"], "grace": []}
