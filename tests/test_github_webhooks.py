"""POST /webhooks/github: the signature is checked before anything is parsed, a delivery is handled once, ping
answers, unknown repositories are acknowledged, and deliveries are queryable on the pipeline."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from pipegraph.github.models import WebhookDelivery
from pipegraph.reviewapps.models import ReviewApp
from tests.support.github_scene import (
    DELIVERIES,
    GitHubScene,
    pull_request_payload,
    push_payload,
    sign,
)


async def _queued_jobs(scene: GitHubScene) -> int:
    redis = Redis.from_url(scene.jobs.settings.redis_url or "")
    try:
        return int(await redis.zcard("arq:queue"))
    finally:
        await redis.aclose()


async def test_a_bad_or_missing_signature_is_401_and_nothing_happens(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup()
    await github_scene.enable_review_apps(automatic=True)
    payload = pull_request_payload("opened", 7, sha=sha, branch="checkout")

    forged = await github_scene.deliver("pull_request", payload, secret="not-the-secret")
    unsigned = await github_scene.deliver("pull_request", payload, secret="")
    # A body changed after signing: the signature of the original does not hold.
    body = json.dumps(payload).encode()
    tampered = await github_scene.http.post(
        "/webhooks/github",
        content=body.replace(b"checkout", b"evil"),
        headers={
            "content-type": "application/json",
            "x-github-event": "pull_request",
            "x-github-delivery": "tampered",
            "x-hub-signature-256": sign(github_scene.secret, body),
        },
    )

    assert [forged.status_code, unsigned.status_code, tampered.status_code] == [401, 401, 401]
    assert await WebhookDelivery.all().count() == 0
    assert await _queued_jobs(github_scene) == 0
    assert await ReviewApp.all().count() == 0


async def test_a_replayed_delivery_is_answered_and_handled_once(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup()
    await github_scene.enable_review_apps(automatic=True)
    payload = pull_request_payload("opened", 7, sha=sha, branch="checkout")

    first = await github_scene.deliver("pull_request", payload, delivery="d-1")
    await github_scene.jobs.drain()
    again = await github_scene.deliver("pull_request", payload, delivery="d-1")
    await github_scene.jobs.drain()

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"ok": True, "duplicate": True}
    assert await WebhookDelivery.filter(delivery_id="d-1").count() == 1
    apps = await github_scene.review_apps()
    assert len(apps) == 1
    assert len(apps[0]["app"]["releases"]["edges"]) == 1


async def test_ping_answers_and_unknown_repositories_are_acknowledged(github_scene: GitHubScene) -> None:
    await github_scene.setup()

    ping = await github_scene.deliver("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    stranger = push_payload("main", "a" * 40)
    stranger["repository"]["full_name"] = "someone/else"
    other = await github_scene.deliver("push", stranger)

    assert ping.status_code == 200
    assert ping.json()["zen"] == "Keep it logically awesome."
    assert other.status_code == 200
    assert other.json()["ignored"] is True
    assert await _queued_jobs(github_scene) == 0


async def test_deliveries_say_what_happened_on_the_pipeline(github_scene: GitHubScene) -> None:
    sha = await github_scene.setup()

    await github_scene.deliver("push", push_payload("main", sha), delivery="push-1")
    await github_scene.deliver("pull_request", pull_request_payload("opened", 3, sha=sha, branch="x"), delivery="pr-1")
    await github_scene.jobs.drain()

    data = await github_scene.gql(DELIVERIES, {"name": github_scene.pipeline})
    by_id = {row["deliveryId"]: row for row in data["pipeline"]["deliveries"]}
    assert by_id["push-1"]["event"] == "push"
    assert by_id["push-1"]["outcome"] == "IGNORED"
    assert by_id["pr-1"]["action"] == "opened"
    assert "review apps are not enabled" in by_id["pr-1"]["message"]
