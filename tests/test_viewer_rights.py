"""`viewerPermissions` and `viewerRights`: what a client may offer the viewer, from the same rules that enforce it."""

from __future__ import annotations

import httpx

from tests.support.clients import GraphQLClient, make_actor
from tests.support.factories import create_app, create_pipeline

RIGHTS = """
query { pipeline(name: "shop") { viewerRights stages { name apps { name viewerPermissions } } } }"""

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
