"""Redis going away under real `pipegraph worker` processes and a live API: each test owns a redis-server on its own
port, stops it and starts it again, and checks what users see: promotions complete, subscribers are served."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.factories import deploy
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.sandbox import expected_log
from tests.support.servers import RedisServer, stop_process, until, worker_process
from tests.support.ws_client import TRANSPORT_WS, subscribe

PROGRESS = """
subscription($id: ID!) {
  promotionProgress(id: $id) { target { app { name } } status step sequence }
}"""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    # Persisted, as a production Redis is: a restart keeps the queue and the streams.
    server = RedisServer(tmp_path / "redis", persist=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def settings(settings: Settings, redis_server: RedisServer) -> Settings:
    """The API, the in-test workers and the worker processes all use this test's own redis-server."""
    return replace(settings, redis_url=redis_server.url)


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [worker_process(settings, tmp_path / f"worker-{n}.log") for n in range(2)]
    try:
        yield started
    finally:
        for process in started:
            stop_process(process)


def _worker_logs(tmp_path: Path) -> str:
    return "\n".join(path.read_text(errors="replace") for path in sorted(tmp_path.glob("worker-*.log")))


async def _completed(promotion_id: str, *, what: str) -> None:
    key = int(base64.b64decode(promotion_id).decode().split(":")[1])

    async def done() -> bool:
        return (await Promotion.get(id=key)).status == PromotionStatus.COMPLETED

    await until(done, what, seconds=90)


async def test_workers_ride_out_a_redis_restart_and_run_promotions_made_afterwards(
    gql: GraphQLClient, settings: Settings, redis_server: RedisServer, workers: list[Any], tmp_path: Path
) -> None:
    # given two worker processes that have run a promotion
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging", commit="first000")
    first = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    await _completed(first, what="the first promotion completing")

    # when Redis stops for a while (the workers' polls fail meanwhile) and comes back on the same port
    redis_server.stop()
    await asyncio.sleep(2)
    assert [process.poll() for process in workers] == [None, None], _worker_logs(tmp_path)
    redis_server.start()

    # then both workers are still there and a promotion made afterwards completes
    await deploy(gql, app="shop-staging", commit="second00")
    second = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    await _completed(second, what="a promotion made after Redis came back completing")
    assert [process.poll() for process in workers] == [None, None], _worker_logs(tmp_path)
    assert "Redis is unreachable" in _worker_logs(tmp_path)
    targets = await PromotionTarget.filter(promotion__id__isnull=False).order_by("id")
    assert [target.status for target in targets] == [TargetStatus.SUCCEEDED] * 4


async def test_a_promotion_cut_by_a_redis_restart_completes_once_with_nothing_lost_or_doubled(
    gql: GraphQLClient, settings: Settings, redis_server: RedisServer, workers: list[Any], live_server: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    # given production on v1 and a slug whose release phase takes a while
    await shop_pipeline(gql, production=("shop-admin", "shop-prod-eu"))
    for app in ("shop-admin", "shop-prod-eu"):
        await deploy(gql, app=app, commit="old00000")
    await deploy_release_script(gql, app="shop-staging", script='[ -n "$SLOW" ] && sleep 4\necho migrated\n')
    await _until_no_pending_release()
    for app in ("shop-admin", "shop-prod-eu"):
        await gql(
            "mutation($i: SetConfigVarsInput!) { setConfigVars(input: $i) { userErrors { message } } }",
            {"i": {"app": app, "vars": {"SLOW": "1"}}},
        )
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    events: list[dict[str, Any]] = []

    async def follow() -> None:
        async for data in subscribe(
            live_server, PROGRESS, {"id": promotion_id}, protocol=TRANSPORT_WS,
            init_payload={"Authorization": f"Bearer {gql.actor.token}"},
        ):  # fmt: skip
            events.append(data["promotionProgress"])

    subscriber = asyncio.create_task(follow())

    # when Redis stops in the middle of the release phases and comes back a few seconds later
    async def release_commands_running() -> bool:
        targets = await PromotionTarget.filter(release_id__isnull=False)
        return (
            len(targets) == 2 and await Release.filter(id__in=[t.release_id for t in targets], attempts=1).count() == 2
        )

    await until(release_commands_running, "both release commands started")
    redis_server.stop()
    await asyncio.sleep(3)
    redis_server.start()

    # then the promotion completes, and the subscriber was told every change once, ending with both targets done
    await _completed(promotion_id, what="the promotion cut by the restart completing")
    await asyncio.wait_for(subscriber, 60)
    by_app: dict[str, list[tuple[int, str]]] = {}
    for event in events:
        by_app.setdefault(event["target"]["app"]["name"], []).append((event["sequence"], event["status"]))
    for app, seen in by_app.items():
        sequences = [sequence for sequence, _ in seen]
        assert sequences == sorted(set(sequences)), f"{app}: doubled or out of order {seen}"
        assert seen[-1][1] == "SUCCEEDED", (app, seen)
    assert sorted(by_app) == ["shop-admin", "shop-prod-eu"]

    # and each app got exactly one new release, which ran its release phase once and is current
    for app in ("shop-admin", "shop-prod-eu"):
        releases = await Release.filter(app__name=app).order_by("version")
        assert [(r.version, r.status, r.is_current) for r in releases] == [
            (1, ReleaseStatus.SUCCEEDED, False),
            (2, ReleaseStatus.SUCCEEDED, True),
        ], app
        assert releases[1].release_log.splitlines() == expected_log("migrated")
        assert releases[1].attempts == 1
    assert [process.poll() for process in workers] == [None, None], _worker_logs(tmp_path)


async def _until_no_pending_release() -> None:
    async def settled() -> bool:
        return not await Release.exists(status=ReleaseStatus.PENDING)

    await until(settled, "every deploy's release phase ending")


async def test_subscribing_while_redis_is_down_serves_the_database_then_follows_once_it_returns(
    gql: GraphQLClient, settings: Settings, redis_server: RedisServer, live_server: str, tmp_path: Path
) -> None:
    # given a promotion not yet run (no worker) and Redis stopped
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging")
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    redis_server.stop()

    # when a client subscribes to its progress
    stream: AsyncIterator[dict[str, Any]] = subscribe(
        live_server, PROGRESS, {"id": promotion_id}, protocol=TRANSPORT_WS,
        init_payload={"Authorization": f"Bearer {gql.actor.token}"},
    )  # fmt: skip

    # then it gets the target's state from the database, not an internal error
    first = (await asyncio.wait_for(anext(stream), 30))["promotionProgress"]
    assert (first["target"]["app"]["name"], first["status"]) == ("shop-prod-eu", "PENDING")

    # and once Redis is back and a worker runs the promotion, the rest arrives and the subscription completes
    redis_server.start()
    with _one_worker(settings, tmp_path):
        rest = [data["promotionProgress"] async for data in stream]
    assert rest[-1]["status"] == "SUCCEEDED"
    sequences = [first["sequence"]] + [event["sequence"] for event in rest]
    assert sequences == sorted(set(sequences))


@contextlib.contextmanager
def _one_worker(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = worker_process(settings, tmp_path / "worker-late.log")
    try:
        yield process
    finally:
        stop_process(process)


async def test_a_worker_stopped_while_redis_is_away_exits_cleanly(
    settings: Settings, redis_server: RedisServer, workers: list[Any], tmp_path: Path
) -> None:
    # given worker processes that have checked in, then lost Redis
    await until(lambda: _logged(tmp_path, "Starting worker"), "both workers starting", seconds=60)
    redis_server.stop()
    await until(lambda: _logged(tmp_path, "Redis is unreachable"), "a worker noticing Redis is away", seconds=60)

    # when they are stopped as systemd or Docker stops them
    for process in workers:
        process.terminate()

    # then each ends with status 0 and says why it left its health check behind, with no traceback
    assert [process.wait(timeout=30) for process in workers] == [0, 0], _worker_logs(tmp_path)
    assert "Traceback" not in _worker_logs(tmp_path)


async def _logged(tmp_path: Path, text: str) -> bool:
    return _worker_logs(tmp_path).count(text) >= 2
