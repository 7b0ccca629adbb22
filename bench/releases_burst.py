"""Releases burst benchmark: many clients releasing into one app at once, against one release alone.

    BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://…/N python bench/releases_burst.py

It DROPS AND RECREATES the public schema of BENCH_DATABASE_URL and flushes that Redis database: give it its own.
One `pipegraph serve` and two `pipegraph worker` processes (bench/promote.py's) run the real code. Ratios are printed,
never asserted:
- time: the burst's wall time over BURST times one release's (the mean of SINGLES made one after another). Releases
  into one app run one at a time by design, so about 1 is the floor; a burst whose waiting releases hold job slots or
  poll drifts far above it.
- transactions per release in the burst over one release's (pg_stat_database): about 1 when waiting costs nothing.
  (This process checks for the end every 100 ms; its own transactions are left out.)
- connections: the most the database saw during the burst, against what the pools allow (PIPEGRAPH_DB_POOL_SIZE).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time

import asyncpg
import httpx
from redis.asyncio import Redis

from pipegraph.accounts.service import create_token, get_or_create_user
from pipegraph.db import close_db, init_db, migrate
from pipegraph.testing.seed import slug_tarball
from promote import REPO_ROOT, Bench, _free_port, services

BURST = 50
SINGLES = 10  # the baseline: releases one after another, each waited for
STATS_FLUSH_SECONDS = 11
POOL_SIZE = 10  # each process's PostgreSQL pool in this run
RELEASE_COMMAND = "sleep 0.2"
PENDING = "SELECT count(*) FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.name = $1 AND r.status = 'pending'"
COMMITS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
CONNECTIONS = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


async def _app_with_a_release_slug(bench: Bench, name: str) -> str:
    await bench.gql(
        "mutation($i: CreateAppInput!) { createApp(input: $i) { userErrors { message } } }", {"i": {"name": name}}
    )
    data = slug_tarball()
    created = await bench.gql(
        "mutation($i: CreateSlugInput!) { createSlug(input: $i) { slug { id } uploadUrl userErrors { message } } }",
        {"i": {"app": name, "checksum": f"SHA256:{hashlib.sha256(data).hexdigest()}",
               "processTypes": {"web": "./bin/web", "release": RELEASE_COMMAND}}},
    )  # fmt: skip
    url = httpx.URL(created["createSlug"]["uploadUrl"])
    assert (await bench.http.put(url.raw_path.decode(), content=data)).status_code == 200
    return str(created["createSlug"]["slug"]["id"])


async def _release(bench: Bench, app: str, slug: str) -> None:
    await bench.gql(
        "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { userErrors { message } } }",
        {"i": {"app": app, "slug": slug}},
    )


async def _until_released(database: asyncpg.Connection, app: str) -> tuple[int, int]:
    """Polls (each two transactions of this process) and the most connections seen until the app has none pending."""
    peak = polls = 0
    while await database.fetchval(PENDING, app):
        peak = max(peak, await database.fetchval(CONNECTIONS))
        polls += 1
        await asyncio.sleep(0.1)
    return polls, peak


async def _measure(bench: Bench, database: asyncpg.Connection, app: str, *, burst: int) -> tuple[float, int, int]:
    """Wall time, database transactions and the most connections seen: `burst` releases made at once, or (burst=0)
    SINGLES releases one after another."""
    slug = await _app_with_a_release_slug(bench, app)
    await asyncio.sleep(STATS_FLUSH_SECONDS)
    commits = await database.fetchval(COMMITS)
    polls = peak = 0
    started = time.perf_counter()
    for batch in [burst] if burst else [1] * SINGLES:
        await asyncio.gather(*(_release(bench, app, slug) for _ in range(batch)))
        batch_polls, batch_peak = await _until_released(database, app)
        polls, peak = polls + batch_polls, max(peak, batch_peak)
    elapsed = time.perf_counter() - started
    # Idle backends report their counts within PGSTAT_IDLE_INTERVAL (10 s): wait for them, as before starting.
    await asyncio.sleep(STATS_FLUSH_SECONDS)
    own = 2 * polls + len([burst] if burst else [1] * SINGLES) + 1
    return elapsed, await database.fetchval(COMMITS) - commits - own, peak


async def main() -> None:
    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pipegraph_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    dsn = database_url.replace("postgres://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    await connection.close()
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    await migrate(database_url)
    await close_db()
    await init_db(database_url)
    user = await get_or_create_user("bench@example.com")
    _, token = await create_token(user, description="bench")
    await close_db()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="pipegraph-bench-") as data_dir:
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            PIPEGRAPH_DATA_DIR=data_dir,
            PIPEGRAPH_SECRET_KEY="bench",
            PIPEGRAPH_PUBLIC_URL=f"http://127.0.0.1:{port}",
            PIPEGRAPH_DB_POOL_SIZE=str(POOL_SIZE),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        )
        with services(env, port):
            async with httpx.AsyncClient() as probe:
                while True:
                    try:
                        if (await probe.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            bench = Bench(env, port, token)
            database = await asyncpg.connect(dsn)
            try:
                singles_time, singles_commits, _ = await _measure(bench, database, "alone", burst=0)
                burst_time, burst_commits, peak = await _measure(bench, database, "burst", burst=BURST)
            finally:
                await database.close()
                await bench.http.aclose()
    print(f"\n{BURST} releases with a release phase ({RELEASE_COMMAND!r}) into one app at once, 2 workers")
    one_time, one_commits = singles_time / SINGLES, singles_commits / SINGLES
    print(f"  one release (mean of {SINGLES})  {one_time * 1000:7.0f} ms  {one_commits:7.1f} transactions")
    print(f"  burst of {BURST}             {burst_time * 1000:7.0f} ms  {burst_commits:7d} transactions")
    print(f"  time ratio, burst / ({BURST} x one)                  {burst_time / (BURST * one_time):.2f}")
    print(f"  transactions per release ratio, burst / one          {burst_commits / BURST / one_commits:.2f}")
    print(f"  peak connections {peak} (pools allow {3 * POOL_SIZE}: an API and two workers of {POOL_SIZE})")


if __name__ == "__main__":
    asyncio.run(main())
