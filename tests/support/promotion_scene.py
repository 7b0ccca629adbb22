"""A pipeline to promote through, set up via the real API, and the GraphQL documents promotion tests share."""

from __future__ import annotations

from typing import Any

from tests.support.clients import GraphQLClient
from tests.support.factories import add_app, create_app, create_pipeline, deploy
from tests.support.jobs import JobRunner

PROMOTE = """
mutation($input: PromoteInput!) {
  promote(input: $input) {
    promotion { id status source { name } sourceRelease { version } targets { app { name } status step } }
    userErrors { field message code }
  }
}"""

PROMOTION = """
query($id: ID!) {
  node(id: $id) {
    ... on Promotion {
      status completedAt
      sourceRelease { version }
      targets {
        app { name stack configVars currentRelease { version } }
        status step errorMessage
        release {
          version status current description log errorMessage
          sourceRelease { version app { name } }
          slug { checksum stack processTypes commit }
        }
      }
    }
  }
}"""

PROGRESS = "subscription($id: ID!) { promotionProgress(id: $id) { target { app { name } } step } }"

SET_CONFIG_VARS = """
mutation($input: SetConfigVarsInput!) {
  setConfigVars(input: $input) { app { name } userErrors { code message } }
}"""

RELEASE_PHASE = {"web": "./bin/web", "release": "./bin/release"}


async def shop_pipeline(gql: GraphQLClient, *, production: tuple[str, ...] = ("shop-admin", "shop-prod-eu")) -> None:
    """shop-review (review), shop-dev (development), shop-staging (staging) and the production apps."""
    await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev", stage="development")
    stages = [("shop-review", "review"), ("shop-staging", "staging")] + [(app, "production") for app in production]
    for name, stage in stages:
        await create_app(gql, name=name)
        await add_app(gql, pipeline="shop", app=name, stage=stage)


async def deploy_release_script(
    gql: GraphQLClient,
    *,
    app: str,
    script: str,
    commit: str = "feedbeef00000000",
    stack: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """Deploy a slug whose release command runs `script` (a shell script at ./bin/release)."""
    return await deploy(
        gql,
        app=app,
        files={"bin/release": "#!/bin/sh\n" + script, "bin/web": "#!/bin/sh\necho web\n"},
        process_types=RELEASE_PHASE,
        commit=commit,
        stack=stack,
        message=message,
    )


async def promote(gql: GraphQLClient, **input: Any) -> dict[str, Any]:
    data = await gql(PROMOTE, {"input": input})
    payload: dict[str, Any] = data["promote"]
    return payload


async def promotion(gql: GraphQLClient, promotion_id: str) -> dict[str, Any]:
    data = await gql(PROMOTION, {"id": promotion_id})
    node: dict[str, Any] = data["node"]
    node["byApp"] = {target["app"]["name"]: target for target in node["targets"]}
    return node


async def queued_promotion(gql: GraphQLClient, jobs: JobRunner) -> str:
    """A promotion to one app that no worker has picked up yet."""
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy_release_script(gql, app="shop-staging", script="echo migrating\n")
    await jobs.drain()
    promotion_id: str = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    return promotion_id
