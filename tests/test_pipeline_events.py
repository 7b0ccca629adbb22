"""`pipelineEvents`: a page showing a pipeline hears of each promotion as it starts and completes, over a real
WebSocket to a live server, with a real worker; a stranger hears nothing, exactly as for a pipeline that is not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from strawberry import relay
from workers.runner import in_process_worker

from pipegraph.apps.models import App
from pipegraph.builds.models import Build
from pipegraph.pipelines.models import Pipeline
from pipegraph.settings import Settings
from pipegraph.streams.pipeline import NewsKind, announce
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import promote, shop_pipeline
from tests.support.ws_client import TRANSPORT_WS, SubscriptionError, subscribe

EVENTS = """
subscription($pipeline: String!) {
  pipelineEvents(pipeline: $pipeline) { promotion { id status source { name } targets { app { name } status } } }
}"""
# Generous: only a broken server makes a test wait this long, and it then fails instead of hanging.
PATIENCE_SECONDS = 15


def events(host: str, actor: Actor, pipeline: str) -> Any:
    init = {"Authorization": f"Bearer {actor.token}"}
    return subscribe(host, EVENTS, {"pipeline": pipeline}, protocol=TRANSPORT_WS, init_payload=init)


async def test_a_promotion_is_news_when_it_starts_and_when_it_completes(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str
) -> None:
    # given a page following the pipeline, opened around the time a program promotes staging
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    stream = events(live_server, gql.actor, "shop")
    first = asyncio.ensure_future(anext(stream))
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]

    # when a worker carries the promotion out once the page heard of it (as unfinished, or as news: either way)
    async with asyncio.timeout(PATIENCE_SECONDS):
        started = (await first)["pipelineEvents"]["promotion"]
        async with in_process_worker(settings):
            completed = (await anext(stream))["pipelineEvents"]["promotion"]
    await stream.aclose()

    # then the page heard of it twice: pending, then completed with each target's outcome
    assert (started["id"], started["status"], started["source"]) == (promotion_id, "PENDING", {"name": "shop-staging"})
    assert completed["id"] == promotion_id
    assert completed["status"] == "COMPLETED"
    assert {target["app"]["name"]: target["status"] for target in completed["targets"]} == {
        "shop-admin": "SUCCEEDED",
        "shop-prod-eu": "SUCCEEDED",
    }


@pytest.mark.parametrize("pipeline", ["shop", "nowhere"])
async def test_a_stranger_cannot_follow_a_pipeline_as_if_it_did_not_exist(
    gql: GraphQLClient, live_server: str, pipeline: str
) -> None:
    # given a pipeline the stranger does not see, and a name no pipeline has
    await shop_pipeline(gql)
    stranger = await make_actor("stranger@example.com")

    # when the stranger follows either
    with pytest.raises(SubscriptionError) as refused:
        async with asyncio.timeout(PATIENCE_SECONDS):
            await anext(events(live_server, stranger, pipeline))

    # then both are refused alike, naming only what was sent
    assert refused.value.args[0][0]["message"] == f"pipeline {pipeline} not found"


BUILDS = """
subscription($pipeline: String!) { pipelineEvents(pipeline: $pipeline, kinds: [BUILD]) { build { id status } } }"""
REMOVE_APP = """
mutation($app: String!) { removeAppFromPipeline(input: {app: $app}) { userErrors { message } } }"""


async def test_build_news_of_an_app_that_left_the_pipeline_is_not_sent(
    gql: GraphQLClient, settings: Settings, live_server: str
) -> None:
    # given a build of an app that then left the pipeline, and one of an app still in it
    await shop_pipeline(gql)
    pipeline = await Pipeline.get(name="shop")
    left = await Build.create(app=await App.get(name="shop-admin"), source_url="https://example.com/left.tgz")
    kept = await Build.create(app=await App.get(name="shop-prod-eu"), source_url="https://example.com/kept.tgz")
    removed = await gql(REMOVE_APP, {"app": "shop-admin"})
    assert removed["removeAppFromPipeline"]["userErrors"] == []

    # when the owner's page follows the pipeline's builds, and news of both arrive, the one that left first
    init = {"Authorization": f"Bearer {gql.actor.token}"}
    stream = subscribe(live_server, BUILDS, {"pipeline": "shop"}, protocol=TRANSPORT_WS, init_payload=init)
    first = asyncio.ensure_future(anext(stream))
    redis = Redis.from_url(settings.redis_url or "")
    try:
        async with asyncio.timeout(PATIENCE_SECONDS):
            while not first.done():  # until the page is surely following
                await announce(redis, pipeline.id, NewsKind.BUILD, left.id)
                await announce(redis, pipeline.id, NewsKind.BUILD, kept.id)
                await asyncio.sleep(0.05)
            heard = (await first)["pipelineEvents"]["build"]
    finally:
        await stream.aclose()
        await redis.aclose()

    # then only the build of the app still in the pipeline reached it
    assert relay.GlobalID.from_id(heard["id"]) == relay.GlobalID("Build", str(kept.id))
