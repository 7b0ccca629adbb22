"""`pipelineEvents(pipeline, kinds:)` carries review-app, build and deploy news over a real WebSocket, as a worker
works a review app; without `kinds` it stays what it always was (promotions only)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio import Redis

from pipegraph.reviewapps.models import ReviewApp
from pipegraph.settings import Settings
from pipegraph.streams.pipeline import NewsKind, announce
from tests.conftest import github_settings, serve_app
from tests.support.github_scene import GitHubScene, pull_request_payload
from tests.support.ws_client import TRANSPORT_WS, subscribe

NEWS = """
subscription($pipeline: String!, $kinds: [PipelineEventKind!]) {
  pipelineEvents(pipeline: $pipeline, kinds: $kinds) {
    kind reviewApp { prNumber status app { name } } build { status } promotion { id }
  }
}"""
PATIENCE_SECONDS = 30


async def test_review_app_and_build_news_reach_a_page_following_the_pipeline(
    github_scene: GitHubScene, settings: Settings
) -> None:
    sha = await github_scene.setup()
    await github_scene.enable_review_apps(automatic=False)
    github_scene.github.pulls[3] = pull_request_payload("opened", 3, sha=sha, branch="main")["pull_request"]
    created = await github_scene.gql(
        'mutation { createReviewApp(input: {pipeline: "shop", pullRequest: 3}) { userErrors { message } } }'
    )
    assert created["createReviewApp"]["userErrors"] == []
    row = await ReviewApp.get(pr_number=3)
    seen: list[dict[str, Any]] = []
    redis = Redis.from_url(settings.redis_url or "")
    async with serve_app(github_settings(settings, github_scene.github)) as host:
        init = {"Authorization": f"Bearer {github_scene.gql.actor.token}"}
        stream = subscribe(
            host, NEWS, {"pipeline": "shop", "kinds": ["REVIEW_APP", "BUILD"]}, protocol=TRANSPORT_WS, init_payload=init
        )

        async def collect() -> None:
            async for data in stream:
                seen.append(data["pipelineEvents"])
                if (data["pipelineEvents"]["reviewApp"] or {}).get("status") == "CREATED":
                    return

        collecting = asyncio.create_task(collect())
        try:
            async with asyncio.timeout(PATIENCE_SECONDS):
                while not seen:  # news of the row as it is, until the page is surely following
                    await announce(redis, row.pipeline_id, NewsKind.REVIEW_APP, row.id)
                    await asyncio.sleep(0.05)
                await github_scene.jobs.drain()
                await collecting
        finally:
            collecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collecting
            await stream.aclose()
            await redis.aclose()

    kinds = [event["kind"] for event in seen]
    statuses = [event["reviewApp"]["status"] for event in seen if event["kind"] == "REVIEW_APP"]
    assert statuses[0] == "PENDING"
    assert statuses[-1] == "CREATED"
    assert "CREATING" in statuses
    assert "BUILD" in kinds
    assert [event["build"]["status"] for event in seen if event["kind"] == "BUILD"][-1] == "SUCCEEDED"
    assert seen[-1]["reviewApp"]["app"] == {"name": "shop-pr-3"}
    assert all(event["promotion"] is None for event in seen)
