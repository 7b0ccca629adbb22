"""The worker's one home: every job kind a domain declares is bound to a function that arq runs."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from arq import func
from arq.connections import create_pool
from workers import WorkerSettings
from workers.cron import sweep_parts
from workers.runner import build_worker, in_process_worker
from workers.settings import options

import pipegraph.schema  # noqa: F401 - every domain, as the API imports them: all the job kinds they declare
from pipegraph.jobs.queue import JobKind
from pipegraph.jobs.runtime import job_timeout_seconds
from pipegraph.redis import redis_settings
from pipegraph.settings import Settings


def test_every_declared_job_kind_is_run_by_the_worker() -> None:
    assert JobKind.declared, "no job kind declared"
    assert {function.name for function in WorkerSettings.functions} == set(JobKind.declared)


async def test_the_process_and_the_in_process_worker_run_the_same_jobs(tmp_path: Path) -> None:
    from pipegraph.settings import Settings

    settings = Settings.from_env(
        {"PIPEGRAPH_DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0", "PIPEGRAPH_SECRET_KEY": "x"}
    )
    worker = build_worker(settings)
    assert set(worker.functions) == {f.name for f in WorkerSettings.functions} | {
        job.name for job in WorkerSettings.cron_jobs
    }
    assert worker.job_timeout_s == job_timeout_seconds(settings.release_phase_timeout)
    assert options(settings.release_phase_timeout)["max_jobs"] == WorkerSettings.max_jobs


def test_a_job_kind_is_declared_once() -> None:
    name = next(iter(JobKind.declared))
    with pytest.raises(ValueError, match="declared twice"):
        JobKind(name, key="another")


def test_the_sweeper_removes_only_old_partial_uploads(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    old, fresh, other = incoming / "a.part", incoming / "b.part", incoming / "c.tar.gz"
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    now = datetime.now(UTC).timestamp()
    import os

    os.utime(old, (now - 100, now - 100))
    assert sweep_parts(incoming, cutoff=now - 50) == 1
    assert sorted(path.name for path in incoming.iterdir()) == ["b.part", "c.tar.gz"]


def test_the_database_pool_size_is_a_setting_and_a_bad_one_is_refused_clearly(tmp_path: Path) -> None:
    from pipegraph.db import with_pool_size
    from pipegraph.settings import Settings

    env = {"PIPEGRAPH_DATA_DIR": str(tmp_path), "PIPEGRAPH_SECRET_KEY": "x"}
    assert Settings.from_env(env).db_pool_size == 10
    assert Settings.from_env({**env, "PIPEGRAPH_DB_POOL_SIZE": "4"}).db_pool_size == 4
    for bad in ("0", "-3", "many", "²"):
        with pytest.raises(
            ValueError, match=f"PIPEGRAPH_DB_POOL_SIZE must be a whole number of at least 1, not '{bad}'"
        ):
            Settings.from_env({**env, "PIPEGRAPH_DB_POOL_SIZE": bad})
    assert with_pool_size("postgres://db/x", 4) == "postgres://db/x?maxsize=4"
    assert with_pool_size("postgres://db/x?maxsize=2", 4) == "postgres://db/x?maxsize=2"  # the URL's own choice wins
    assert with_pool_size("sqlite://x.db", 4) == "sqlite://x.db"


async def test_a_job_that_never_ends_does_not_hold_the_in_process_worker_s_shutdown(settings: Settings) -> None:
    # Given an in-process worker running a job that ignores every cancellation until the test lets it go
    started, released = asyncio.Event(), asyncio.Event()
    cancellations = 0
    left_running: list[asyncio.Task[Any]] = []

    async def never_ending(ctx: dict[str, Any]) -> None:
        nonlocal cancellations
        started.set()
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                cancellations += 1

    pool = await create_pool(redis_settings(settings.redis_url or ""))
    try:
        async with in_process_worker(
            settings, grace=0.1, cancel_wait=0.1, functions=[func(never_ending, name="never_ending")]
        ) as worker:
            await pool.enqueue_job("never_ending", _job_id="never-ending")
            await asyncio.wait_for(started.wait(), timeout=60)  # a deadline for a hung test, not a timing assertion
            left_running = list(worker.tasks.values())

        # When the worker stopped, then shutdown returned although the job is still inside: cancelled, not waited for
        assert not released.is_set()
        assert cancellations >= 1
        assert worker.main_task is not None
        assert worker.main_task.done(), "the worker would go on polling"
        assert not worker.tasks
    finally:
        released.set()
        await pool.aclose()
    with contextlib.suppress(Exception):  # it ends, now, against a worker whose connections are closed
        await asyncio.gather(*left_running, return_exceptions=True)


async def test_an_enqueue_wakes_a_worker_long_before_its_next_poll(settings: Settings) -> None:
    from redis.asyncio import Redis

    from pipegraph.jobs.queue import enqueue_all, wake_channel
    from pipegraph.promotions.service import target_job

    # given a worker that polls once an hour, whose first poll is done (its wake-up listener has subscribed then)
    ran: asyncio.Queue[int] = asyncio.Queue()

    async def promote_target(ctx: dict[str, Any], target_id: int) -> None:
        await ran.put(target_id)

    pool = await create_pool(redis_settings(settings.redis_url or ""))
    redis = Redis.from_url(settings.redis_url or "")
    try:
        async with in_process_worker(
            settings, poll_delay=3600, functions=[func(promote_target, name="promote_target")]
        ):
            for _ in range(1200):  # a deadline for a hung test, not a timing assertion
                if dict(await redis.pubsub_numsub(wake_channel(pool))).get(wake_channel(pool).encode()):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the worker never listened for wake-ups")

            # when a job is enqueued
            await enqueue_all(pool, [target_job(41)])

            # then it runs now, not an hour later
            assert await asyncio.wait_for(ran.get(), timeout=60) == 41
    finally:
        await redis.aclose()
        await pool.aclose()
