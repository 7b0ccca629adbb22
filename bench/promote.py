"""Promotion benchmark: fan-out time, event latency and subscriber memory, against PostgreSQL and Redis.

    BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://…/N python bench/promote.py
    BENCH_DATABASE_URL=sqlite BENCH_REDIS_URL=redis://…/N python bench/promote.py    # a temporary SQLite file

It DROPS AND RECREATES the public schema of BENCH_DATABASE_URL and flushes that Redis database: give it its own.
Two `pipegraph worker` processes and one `pipegraph serve` process run the real code; this process drives them over
HTTP and WebSockets. Ratios are printed, never asserted.

What limits it (measured on one machine, see the commit that last changed this file for figures):
- Without a release phase a target is pure bookkeeping, ~12 SQL statements and 6 stream writes, and that Python work
  runs on one event loop per worker process: 50 targets on 2 workers cost roughly 25 targets' worth of CPU each, so
  the 50/1 ratio tracks the worker count, not the design. More worker processes bring it down.
- With a release phase the subprocess dominates and targets overlap (up to `max_jobs` per worker), so 50 targets take
  about the time of one plus the bookkeeping above.
- Event latency is the time from a target's write to its receipt. Under a 50-target burst most of it is spent
  queued: in the worker's event loop between the commit and the XADD, and in the API's single event loop that runs
  each event's GraphQL selection for each subscriber. One target at a time shows the floor without the burst.
- Memory per subscriber is a WebSocket, a subscription task and its per-connection DataLoaders; Redis costs one
  reader per followed promotion per API process (pipegraph/streams/hub.py), not one per subscriber.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from redis.asyncio import Redis

from pipegraph.accounts.service import create_token, get_or_create_user
from pipegraph.db import close_db, init_db, migrate
from pipegraph.promotions.models import Promotion, PromotionStatus
from pipegraph.testing.seed import slug_tarball

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).with_name("pipegraph")
TARGET_COUNTS = (1, 10, 50)
LATENCY_EVENTS = 1_000
SUBSCRIBERS = 1_000

GQL_PROMOTE = "mutation($i: PromoteInput!) { promote(input: $i) { promotion { id } userErrors { message } } }"
GQL_SETUP = {
    "app": "mutation($i: CreateAppInput!) { createApp(input: $i) { userErrors { message } } }",
    "pipeline": "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { userErrors { message } } }",
    "add": "mutation($i: AddAppToPipelineInput!) { addAppToPipeline(input: $i) { userErrors { message } } }",
    "slug": "mutation($i: CreateSlugInput!) { createSlug(input: $i) { slug { id } uploadUrl userErrors { message } } }",
    "release": "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { userErrors { message } } }",
}
PROGRESS = "subscription($id: ID!) { promotionProgress(id: $id) { step target { id updatedAt } } }"
STATUS = "subscription($id: ID!) { promotionProgress(id: $id) { status } }"
ROUND_TRIPS = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Bench:
    def __init__(self, env: dict[str, str], port: int, token: str) -> None:
        self.env, self.port, self.token = env, port, token
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    async def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = (await self.http.post("/graphql", json={"query": query, "variables": variables})).json()
        assert not body.get("errors"), body
        for payload in body["data"].values():
            assert not payload.get("userErrors"), payload
        return body["data"]  # type: ignore[no-any-return]

    async def pipeline(self, name: str, targets: int, *, release_phase: bool) -> str:
        """A pipeline with a deployed staging app and `targets` production apps; returns the staging app's name."""
        source = f"{name}-stg"
        await self.gql(GQL_SETUP["app"], {"i": {"name": source}})
        await self.gql(GQL_SETUP["pipeline"], {"i": {"name": name, "app": source, "stage": "staging"}})
        for number in range(targets):
            app = f"{name}-p{number}"
            await self.gql(GQL_SETUP["app"], {"i": {"name": app}})
            await self.gql(GQL_SETUP["add"], {"i": {"pipeline": name, "app": app, "stage": "production"}})
        data = slug_tarball()
        process_types = {"web": "./bin/web"}
        if release_phase:
            # Only in production, so the source's own deploy does not wait for it.
            process_types["release"] = 'case "$DYNO-$PHASE" in release.1-prod) sleep 1;; esac'
        created = await self.gql(
            GQL_SETUP["slug"],
            {
                "i": {
                    "app": source,
                    "checksum": f"SHA256:{hashlib.sha256(data).hexdigest()}",
                    "processTypes": process_types,
                }
            },
        )
        url = httpx.URL(created["createSlug"]["uploadUrl"])
        assert (await self.http.put(url.raw_path.decode(), content=data)).status_code == 200
        await self.gql(GQL_SETUP["release"], {"i": {"app": source, "slug": created["createSlug"]["slug"]["id"]}})
        for number in range(targets):
            await self.http.post(
                "/graphql",
                json={
                    "query": 'mutation($a: String!) { setConfigVars(input: {app: $a, vars: {PHASE: "prod"}}) '
                    "{ userErrors { message } } }",
                    "variables": {"a": f"{name}-p{number}"},
                },
            )
        await self._until_source_released(source)
        return source

    async def _until_source_released(self, source: str) -> None:
        query = "query($n: String!) { app(name: $n) { currentRelease { version } } }"
        while True:  # polling is what a client without a subscription would do
            if (await self.gql(query, {"n": source}))["app"]["currentRelease"]:
                return
            await asyncio.sleep(0.01)

    async def promote(self, source: str) -> str:
        data = await self.gql(GQL_PROMOTE, {"i": {"source": source}})
        return str(data["promote"]["promotion"]["id"])


async def _until_completed(promotion_gid: str) -> None:
    from strawberry.relay import GlobalID

    promotion_id = int(GlobalID.from_id(promotion_gid).node_id)
    while True:  # the database is the truth: the clock stops when it says COMPLETED
        if await Promotion.exists(id=promotion_id, status=PromotionStatus.COMPLETED):
            return
        await asyncio.sleep(0.005)


async def fan_out(bench: Bench) -> None:
    print("\nmutation -> all targets SUCCEEDED (2 workers)")
    for release_phase in (False, True):
        times: dict[int, float] = {}
        for count in TARGET_COUNTS:
            source = await bench.pipeline(f"f{int(release_phase)}n{count}", count, release_phase=release_phase)
            started = time.perf_counter()
            await _until_completed(await bench.promote(source))
            times[count] = time.perf_counter() - started
        label = "release phase sleeping 1 s" if release_phase else "no release phase"
        cells = "  ".join(f"{n:>2} targets {t * 1000:7.0f} ms" for n, t in times.items())
        print(f"  {label:<28} {cells}  50/1 ratio {times[50] / times[1]:.2f}")


async def round_trip(bench: Bench) -> None:
    """What a dashboard sees: the time from sending `promote` (one target, no release phase) to a subscriber, whose
    socket was already open, receiving that target's SUCCEEDED."""
    samples: list[float] = []
    for number in range(ROUND_TRIPS):
        source = await bench.pipeline(f"rt{number}", 1, release_phase=False)
        url = f"ws://127.0.0.1:{bench.port}/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": bench.token}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            started = time.perf_counter()
            promotion_id = await bench.promote(source)
            subscribe = {"query": STATUS, "variables": {"id": promotion_id}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            while True:
                message = json.loads(await ws.recv())
                assert message["type"] == "next", message
                if message["payload"]["data"]["promotionProgress"]["status"] == "SUCCEEDED":
                    samples.append((time.perf_counter() - started) * 1000)
                    break
    median = statistics.median(samples)
    print(f"\nmutation -> SUCCEEDED seen by a subscriber (1 target, no release phase, {ROUND_TRIPS} runs)")
    print(f"  median {median:.1f} ms  max {max(samples):.1f} ms  (aim 50 ms, ratio {median / 50:.2f})")


async def _subscribe(
    bench: Bench, promotion_id: str, received: list[tuple[float, str, str]], ready: asyncio.Event | None
):
    async with websockets.connect(f"ws://127.0.0.1:{bench.port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": bench.token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": PROGRESS, "variables": {"id": promotion_id}}}
            )
        )
        first = True
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "complete":
                return
            if first and ready is not None:
                ready.set()
            first = False
            progress = message["payload"]["data"]["promotionProgress"]
            received.append((time.time(), progress["step"], progress["target"]["updatedAt"]))


async def latency(bench: Bench, *, targets: int, events: int) -> None:
    samples: list[float] = []
    round_number = 0
    while len(samples) < events:
        round_number += 1
        source = await bench.pipeline(f"lat{targets}r{round_number}", targets, release_phase=False)
        promotion_id = await bench.promote(source)
        received: list[tuple[float, str, str]] = []
        await _subscribe(bench, promotion_id, received, None)
        # Past the snapshot, every message is one worker write; QUEUED ones may be the snapshot itself.
        for at, step, updated_at in received:
            if step != "QUEUED" and updated_at:
                samples.append((at - datetime.fromisoformat(updated_at).timestamp()) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"\nevent latency, worker's write -> receipt ({targets}-target promotions, {len(samples)} events)")
    print(f"  p50 {p50:.1f} ms  p99 {p99:.1f} ms  (aim: p99 under 20 ms, ratio p99/20 ms {p99 / 20:.2f})")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def memory(bench: Bench, api_pid: int, workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:  # nothing moves while the subscribers arrive
        worker.terminate()
        worker.wait()
    source = await bench.pipeline("mem", 1, release_phase=False)
    promotion_id = await bench.promote(source)
    before = _rss_kib(api_pid)
    readies = [asyncio.Event() for _ in range(SUBSCRIBERS)]
    received: list[list[tuple[float, str, str]]] = [[] for _ in range(SUBSCRIBERS)]
    tasks = [asyncio.create_task(_subscribe(bench, promotion_id, received[n], readies[n])) for n in range(SUBSCRIBERS)]
    await asyncio.gather(*(ready.wait() for ready in readies))
    during = _rss_kib(api_pid)
    workers.append(_start_worker(bench.env))
    await asyncio.gather(*tasks)
    complete = sum(1 for events in received if events and events[-1][1] == "DONE")
    print(f"\nAPI process memory with {SUBSCRIBERS} subscribers on one promotion")
    print(
        f"  RSS {before / 1024:.0f} MiB idle -> {during / 1024:.0f} MiB subscribed "
        f"({(during - before) / SUBSCRIBERS:.0f} KiB per subscriber); {complete}/{SUBSCRIBERS} saw it complete"
    )


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def services(env: dict[str, str], port: int) -> Iterator[tuple[subprocess.Popen[bytes], list[subprocess.Popen[bytes]]]]:
    api = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers = [_start_worker(env), _start_worker(env)]
    try:
        yield api, workers
    finally:
        for process in [api, *workers]:
            process.terminate()
            process.wait()


async def main() -> None:
    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pipegraph_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    with tempfile.TemporaryDirectory(prefix="pipegraph-bench-") as data_dir:
        if database_url == "sqlite":
            database_url = f"sqlite://{data_dir}/bench.sqlite3"
        else:
            connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
            await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
            await connection.close()
        print(f"database: {database_url.split(':', 1)[0]}")
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        await redis.aclose()
        await migrate(database_url)
        await close_db()
        await init_db(database_url)
        user = await get_or_create_user("bench@example.com")
        _, token = await create_token(user, description="bench")
        port = _free_port()
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            PIPEGRAPH_DATA_DIR=data_dir,
            PIPEGRAPH_SECRET_KEY="bench",
            PIPEGRAPH_PUBLIC_URL=f"http://127.0.0.1:{port}",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        )
        with services(env, port) as (api, workers):
            async with httpx.AsyncClient() as probe:
                while True:
                    try:
                        if (await probe.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            bench = Bench(env, port, token)
            await fan_out(bench)
            await round_trip(bench)
            await latency(bench, targets=50, events=LATENCY_EVENTS)
            await latency(bench, targets=1, events=LATENCY_EVENTS // 4)
            await memory(bench, api.pid, workers)
            await bench.http.aclose()
        await close_db()


if __name__ == "__main__":
    asyncio.run(main())
