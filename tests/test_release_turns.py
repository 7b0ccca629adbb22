"""Many releases with a release phase into one app: each runs in its turn, in version order, and a release waiting
for its turn holds no job slot and polls nothing (the end of the one before wakes it)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from arq.constants import default_queue_name
from redis.asyncio import Redis
from workers.runner import in_process_worker

from pipegraph.promotions.models import PromotionTarget, TargetStatus
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.database import is_postgres
from tests.support.factories import CREATE_RELEASE, create_slug, deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import RELEASE_PHASE, deploy_release_script, promote, shop_pipeline
from tests.support.sandbox import expected_log
from tests.support.servers import stop_process, until, worker_process
from tests.support.tarballs import tarball

APP = "shop-prod-eu"
BURST = 24  # half deploys, half promotions, all at once
SLOTS = 3  # a worker's max_jobs: far fewer than the releases waiting


async def _burst(gql: GraphQLClient, settings: Settings) -> None:
    """BURST releases into APP at once: deploys of its own slug with a release phase, and promotions from staging."""
    await shop_pipeline(gql, production=(APP,))
    await deploy(gql, app=APP, commit="base0000")
    await deploy_release_script(gql, app="shop-staging", script="echo promoted\n", commit="staged00")
    await JobRunner(settings).drain()  # staging's own release phase
    files = {"bin/release": "#!/bin/sh\necho deployed\n", "bin/web": "#!/bin/sh\n"}
    slug = await create_slug(gql, app=APP, data=tarball(files), process_types=RELEASE_PHASE, commit="own00000")

    async def release(number: int) -> Any:
        if number % 2:
            return (await promote(gql, source="shop-staging", to=[APP]))["userErrors"]
        return (await gql(CREATE_RELEASE, {"input": {"app": APP, "slug": slug["slug"]["id"]}}))["createRelease"][
            "userErrors"
        ]

    assert await asyncio.gather(*(release(n) for n in range(BURST))) == [[]] * BURST


async def _queued_job_ids(settings: Settings) -> list[str]:
    redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:
        return list(await redis.zrange(default_queue_name, 0, -1))
    finally:
        await redis.aclose()


async def _all_ended() -> bool:
    return not await Release.exists(app__name=APP, status=ReleaseStatus.PENDING)


async def _assert_ran_in_turn() -> None:
    releases = await Release.filter(app__name=APP).order_by("version")
    # every release succeeded once, in version order, and exactly the newest is current
    assert [r.version for r in releases] == list(range(1, BURST + 2))
    assert all(r.status == ReleaseStatus.SUCCEEDED for r in releases[1:]), [(r.version, r.status) for r in releases]
    assert [r.version for r in releases if r.is_current] == [BURST + 1]
    assert [r.attempts for r in releases[1:]] == [1] * BURST
    finished_order = sorted(releases[1:], key=lambda r: (r.updated_at, r.version))
    assert [r.version for r in finished_order] == [r.version for r in releases[1:]]
    logs = sorted(r.release_log.splitlines() for r in releases[1:])
    assert logs == [expected_log("deployed")] * (BURST // 2) + [expected_log("promoted")] * (BURST // 2)
    assert await PromotionTarget.filter(status=TargetStatus.SUCCEEDED).count() == BURST // 2


async def test_a_burst_of_releases_into_one_app_runs_in_version_order_without_waiting_in_job_slots(
    gql: GraphQLClient, settings: Settings
) -> None:
    # given many releases with a release phase made at once into one app, while no worker runs
    await _burst(gql, settings)

    # then only the first of the deploys has a job: the others are not due, and get theirs when the one before ends
    first_deploy = await Release.get(app__name=APP, version=2)
    assert [job for job in await _queued_job_ids(settings) if job.startswith("release:")] == [
        f"release:{first_deploy.id}"
    ]

    # when two workers with a few job slots each work them off
    async with (
        in_process_worker(settings, max_jobs=SLOTS) as first,
        in_process_worker(settings, max_jobs=SLOTS) as second,
    ):
        await until(_all_ended, "every release of the burst ending", seconds=240)

    # then each ran once, in its turn: none starved, none overtook an earlier one
    await _assert_ran_in_turn()
    # and no job was put off to try again later: a release that was not yet due had no job, or let go at once
    assert first.jobs_retried + second.jobs_retried == 0
    assert first.jobs_failed + second.jobs_failed == 0


@pytest.mark.skipif(not is_postgres(), reason="connection pools and max_connections are PostgreSQL's (SQLite has none)")
async def test_worker_processes_keep_to_their_database_pool_under_a_burst(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    # given a burst of releases and two worker processes allowed 3 connections each
    await _burst(gql, settings)
    dsn = settings.database_url.replace("postgres://", "postgresql://", 1)
    probe = await asyncpg.connect(dsn)
    count = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    before = await probe.fetchval(count)  # this test process's own connections
    seen: list[int] = []
    workers = [worker_process(settings, tmp_path / f"worker-{n}.log", PIPEGRAPH_DB_POOL_SIZE="3") for n in range(2)]

    async def sample() -> None:
        while True:
            seen.append(await probe.fetchval(count))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        # when they work it off
        await until(_all_ended, "every release of the burst ending", seconds=240)
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await probe.close()
        for process in workers:
            stop_process(process)

    # then every release ran in its turn, and the workers never held more than their pools between them
    await _assert_ran_in_turn()
    assert max(seen) - before <= 2 * 3, (before, max(seen))
