"""Promotion benchmark: fan-out time, event latency and subscriber memory, against PostgreSQL and Redis.

    BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://…/N python bench/promote.py
    BENCH_DATABASE_URL=sqlite BENCH_REDIS_URL=redis://…/N python bench/promote.py    # a temporary SQLite file

It DROPS AND RECREATES the public schema of BENCH_DATABASE_URL and flushes that Redis database: give it its own.
Two `pipegraph worker` processes and one `pipegraph serve` process run the real code; this process drives them over
HTTP and WebSockets. Ratios are printed, never asserted.

What limits it (measured on one machine, see the commit that last changed this file for figures):
- Without a release phase one batch job works every target (promotions/batch.py): one transaction of a constant
  number of statements whatever the target count, then every target's events in one stream write (one MULTI/EXEC)
  and the end in a second. The 50/1 ratio is then the batch's rows and the events' delivery, not one job per target.
  Traced on a quiet machine, 50 targets cost about 6 ms more than one, nearly all of it the database's work on 300
  rows (the targets' INSERT in the mutation, the apps locked and numbered, the slugs and releases inserted, each with
  its foreign keys checked, the targets' end): each INSERT converts its template's values once (core/bulk.py
  `insert_copies`), PostgreSQL claims the targets with a row lock rather than a write, and `to` is read at once.
  Of that work, the foreign keys are the most: nine checked per target, about two thirds of a 50-row INSERT of
  releases (measured against the same table without them). With the foreign keys of releases, slugs and promotion
  targets dropped (an experiment only), 50 targets took 15-17 ms instead of 18-19, and the ratio read 1.09-1.37.
- The same fan-out into apps that each have TARGET_HISTORY earlier releases: whether an app has a release pending
  was a walk through all of its releases, and made 50 such targets 2.5-4 times one (82-154 ms); the index of
  pending releases (migration 0017) makes history cost nothing. Unsetting the apps' current releases then took
  5-36 ms more in some rounds, growing with the table: PostgreSQL ran it with a plan made for any values while the
  table was small (a sequential scan), kept as long as the table's statistics did not change (autovacuum is off on
  these machines). That statement now binds no value (promotions/batch.py), and is planned for its apps each time.
  What history still costs is the WAL: the set-up's CHECKPOINT makes each target's first change to a page a full
  page written to the WAL, as it is for a production app whose pages were last written long before, and the commit
  waits for it. 50 such targets wrote 504 KB of WAL (282 KB with `wal_compression = lz4`), against 91 KB for 50
  targets without a history, and took about 1 ms more.
- With a release phase each target is still its own job: the subprocess dominates and targets overlap (up to
  `max_jobs` per worker), so 50 targets take about the time of one plus each target's bookkeeping.
- Event latency is the time from a target's write (its `updatedAt`, taken just before the batch's last UPDATE and its
  commit) to its receipt, counted only for events written after the subscription was open: the workers are paused
  (SIGSTOP) from before `promote` until the subscription's snapshot arrived, so no sample is "time until connected".
  Receipt is when this process read the frame's bytes from its socket (`_FrameReader`: a client library's own pace
  is not pipegraph's). It splits at the stream entry's id (Redis's clock, whole milliseconds): write -> XADD is the
  worker side, XADD -> receipt the API side. The worker side is the last UPDATE (its foreign keys checked), the
  commit, then one XADD: a burst is one stream entry, its targets' changes as one JSON array, made ready before the
  commit (pipegraph/streams/promotion.py). On the API side one reader per followed stream per process
  (pipegraph/streams/hub.py) decodes each entry once for every subscriber; a subscription takes a burst as one batch:
  visibility decided once from the pipeline's and its apps' owner columns, one statement shared by every socket
  following the pipeline (pipelines/live_view.py), while the batch's events are built; a selection of plain values,
  as this bench's, is built without graphql-core (api/event_plans.py), the batch passes graphql-core and strawberry as
  one result, and the WebSocket handler writes its 250 frames to the socket at once (api/event_batches.py,
  api/websocket.py, api/json_output.py). Traced on this 2-core machine under load (load average 1.5-2.5, the host
  taking up to a third of it), a 50-target burst took 3-7 ms in the worker, 1-4 ms until a subscription had it,
  2-7 ms to build its 250 events (the visibility statement meanwhile), 2-5 ms to make and write their frames, and
  0.5-6 ms more until this process read the last one. The planned data is built by a function compiled per
  selection (api/event_plans.py) and each frame's header written directly (api/json_output.py). What is left is
  per-event Python (the strawberry value, the planned data, the message and its frame: a few microseconds an event)
  that the last event of a burst pays 250 times, and the machine's load, not a step to remove.
- The p99's worst enemy was the API's garbage collector: left to its thresholds, it freed the cycles of a few hundred
  requests (this bench's set-up between rounds) in one 20-38 ms collection, and the burst that met it was that much
  late (p99 25-50 ms in the runs where it happened). The API now collects every tenth of a second (gctune.py).
- With FOLLOWERS sockets on one promotion (a team's dashboards), every burst is made once (api/event_batches.py) and
  then sent to each socket in turn: a socket's events wait for the sends to those before it. This bench's client
  stamps each socket's bytes as it reads them, and splits and parses them only once the subscription completed, so
  that one socket's parsing does not hold up the reading of the others (it did: p50 20 ms, p99 60-90 ms, against
  8-10 / 13-18 ms stamped as read).
- Memory per subscriber is a WebSocket, a subscription task and its per-connection DataLoaders; Redis costs one
  reader per followed promotion per API process (pipegraph/streams/hub.py), not one per subscriber.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from arq.constants import default_queue_name, in_progress_key_prefix
from redis.asyncio import Redis
from strawberry.relay import GlobalID
from tortoise.connection import connections
from websockets.frames import Frame, Opcode

from pipegraph.accounts.service import create_token, get_or_create_user
from pipegraph.apps.models import App
from pipegraph.db import close_db, init_db, migrate
from pipegraph.promotions.models import Promotion, PromotionStatus
from pipegraph.releases.models import ReleaseStatus
from pipegraph.slugs.models import Slug
from pipegraph.streams.promotion import PROMOTION_EVENTS, TargetChanges
from pipegraph.testing.seed import slug_tarball

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).with_name("pipegraph")
TARGET_COUNTS = (1, 10, 50)
FAN_OUT_ROUNDS = 9
# A production app has a past: the fan-out is measured again with this many earlier releases in every target app.
TARGET_HISTORY = 1_000
LATENCY_EVENTS = 1_000
SUBSCRIBERS = 1_000
# A team's dashboards open on one promotion: each of its events is sent to every one of them.
FOLLOWERS = 20

GQL_PROMOTE = "mutation($i: PromoteInput!) { promote(input: $i) { promotion { id } userErrors { message } } }"
GQL_SETUP = {
    "app": "mutation($i: CreateAppInput!) { createApp(input: $i) { userErrors { message } } }",
    "pipeline": "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { userErrors { message } } }",
    "add": "mutation($i: AddAppToPipelineInput!) { addAppToPipeline(input: $i) { userErrors { message } } }",
    "slug": "mutation($i: CreateSlugInput!) { createSlug(input: $i) { slug { id } uploadUrl userErrors { message } } }",
    "release": "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { userErrors { message } } }",
}
PROGRESS = "subscription($id: ID!) { promotionProgress(id: $id) { step sequence target { id updatedAt } } }"
STATUS = "subscription($id: ID!) { promotionProgress(id: $id) { status } }"
ROUND_TRIPS = 20
EVENT_P99_AIM_MS = 10  # issue 13: for one target and for 50-target bursts alike
PAUSE_LIMIT_SECONDS = 10
COMPLETE = b'"type":"complete"'  # how pipegraph's orjson writes a `complete` message


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
        self.redis = Redis.from_url(env["REDIS_URL"])

    async def workers_idle(self) -> None:
        """Until no job is due or running: the set-up's own (the source's release) would otherwise share the workers
        with the promotion timed next, more often after a short set-up (one target's) than a long one. Cron jobs do
        not count: arq keeps their in-progress keys past their end, so that one run is not started twice."""
        while True:
            due = await self.redis.zcount(default_queue_name, "-inf", time.time() * 1000)
            running = [key for key in await self.redis.keys(f"{in_progress_key_prefix}*") if b":cron:" not in key]
            if not due and not running:
                return
            await asyncio.sleep(0.005)

    async def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = (await self.http.post("/graphql", json={"query": query, "variables": variables})).json()
        assert not body.get("errors"), body
        for payload in body["data"].values():
            assert not payload.get("userErrors"), payload
        return body["data"]  # type: ignore[no-any-return]

    async def pipeline(self, name: str, targets: int, *, release_phase: bool, history: int = 0) -> str:
        """A pipeline with a deployed staging app and `targets` production apps, each with `history` earlier releases;
        returns the staging app's name."""
        source = f"{name}-stg"
        await self.gql(GQL_SETUP["app"], {"i": {"name": source}})
        await self.gql(GQL_SETUP["pipeline"], {"i": {"name": name, "app": source, "stage": "staging"}})
        for number in range(targets):
            app = f"{name}-p{number}"
            await self.gql(GQL_SETUP["app"], {"i": {"name": app}})
            await self.gql(GQL_SETUP["add"], {"i": {"pipeline": name, "app": app, "stage": "production"}})
        if history:
            await _earlier_releases([f"{name}-p{number}" for number in range(targets)], history)
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


async def _earlier_releases(app_names: list[str], count: int) -> None:
    """`count` succeeded releases in each app, none current, as if it had been deployed that often: written at once
    in the database (thousands of deploys through the API would take minutes)."""
    apps = await App.filter(name__in=app_names)
    await Slug.bulk_create(
        Slug(app_id=app.id, checksum=f"SHA256:{'0' * 64}", size=1, stack=app.stack, process_types={}) for app in apps
    )
    slugs = dict(await Slug.filter(app_id__in=[app.id for app in apps]).values_list("app_id", "id"))
    for app in apps:
        await connections.get("default").execute_script(
            f"WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < {count}) "
            'INSERT INTO "releases" ("version", "status", "is_current", "description", "release_log", "created_at", '
            '"updated_at", "app_id", "slug_id", "attempts") '
            f"SELECT v, '{ReleaseStatus.SUCCEEDED.value}', FALSE, 'earlier', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
            f"{app.id}, {slugs[app.id]}, 1 FROM n"
        )
    await App.filter(id__in=[app.id for app in apps]).update(release_count=count)
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        # Written now, the history was still being written out when the promotion ran: 50 apps' thousand releases
        # are tens of megabytes, and checkpoints they asked for landed in the 50-target rounds at random (2.2-3.7
        # times one target, in before and after alike). A production app's history was written long before.
        await connection.execute_script("CHECKPOINT")


async def _until_completed(promotion_gid: str) -> None:
    promotion_id = int(GlobalID.from_id(promotion_gid).node_id)
    while True:  # the database is the truth: the clock stops when it says COMPLETED
        if await Promotion.exists(id=promotion_id, status=PromotionStatus.COMPLETED):
            return
        # Every 2 ms: at 5 ms the poll alone added 0-5 ms to a promotion of 15, and swung the ratio; more often, it
        # takes CPU from what it measures.
        await asyncio.sleep(0.002)


async def fan_out(bench: Bench) -> None:
    print(f"\nmutation -> all targets SUCCEEDED (2 workers; no release phase: median of {FAN_OUT_ROUNDS} rounds)")
    # (label, release phase, earlier releases in each target app, rounds)
    kinds = (
        ("no release phase", False, 0, FAN_OUT_ROUNDS),
        (f"  targets of {TARGET_HISTORY} releases", False, TARGET_HISTORY, FAN_OUT_ROUNDS),
        ("release phase sleeping 1 s", True, 0, 1),
    )
    for label, release_phase, history, rounds in kinds:
        samples: dict[int, list[float]] = {count: [] for count in TARGET_COUNTS}
        # The aim's ratio (no release phase) is the median of a few rounds, the counts alternating within each: one
        # promotion each swung it by half on a shared machine. Each starts once the set-up's jobs are done: they ran
        # beside the one-target promotions, after their short set-up, and made the ratio look 15% better than it was.
        for number in range(rounds):
            for count in TARGET_COUNTS:
                name = f"f{int(release_phase)}h{history}r{number}n{count}"
                source = await bench.pipeline(name, count, release_phase=release_phase, history=history)
                await bench.workers_idle()
                started = time.perf_counter()
                await _until_completed(await bench.promote(source))
                samples[count].append(time.perf_counter() - started)
        times = {count: statistics.median(taken) for count, taken in samples.items()}
        cells = "  ".join(f"{n:>2} targets {t * 1000:7.0f} ms" for n, t in times.items())
        print(f"  {label:<28} {cells}  50/1 ratio {times[50] / times[1]:.2f}{'' if release_phase else ' (aim <= 1.5)'}")


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
) -> None:
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


@contextmanager
def _paused(workers: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """The workers stopped (SIGSTOP) meanwhile, so that nothing of a promotion is worked before its subscriber is
    open. A watchdog resumes them after PAUSE_LIMIT_SECONDS in case a paused worker held a lock `promote` waits for;
    the snapshot's sequences then tell whether anything was worked too early (`_live_round` drops that round)."""
    for worker in workers:
        os.kill(worker.pid, signal.SIGSTOP)
    watchdog = threading.Timer(PAUSE_LIMIT_SECONDS, _resume, [workers])
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        _resume(workers)


def _resume(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        os.kill(worker.pid, signal.SIGCONT)


class _FrameReader:
    """A graphql-transport-ws client that notes when each message's bytes were read from its socket: its receipt.

    A client library's pace is not pipegraph's latency, and the one the other measures use hands messages over one by
    one in Python, about 40 us each: the last of a burst's 250 messages was stamped 10 ms after it arrived on an idle
    machine, more under load (stamping as its bytes were read did not help: the library reads its socket only between
    the messages it hands over). This reader reads whatever arrived, stamps it, and splits it into frames by their
    headers (a few microseconds a frame, as a browser's native client); the messages are parsed after the burst.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = b""
        self.received: deque[tuple[float, bytes]] = deque()  # (when its last byte was read, the message)

    @classmethod
    async def connect(cls, port: int) -> _FrameReader:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws"
            "\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        return cls(reader, writer)

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(Frame(Opcode.TEXT, json.dumps(message).encode()).serialize(mask=True, extensions=[]))

    async def next_message(self) -> tuple[float, dict[str, Any]]:
        while not self.received:
            self._split(*await self._read())
        received_at, text = self.received.popleft()
        return received_at, json.loads(text)

    async def frames_until(self, last: bytes) -> list[tuple[float, bytes]]:
        """Every frame up to the one holding `last` (which ends what the server sends), with its receipt time. The
        bytes are only stamped as they are read, and split into frames once the last arrived: with many sockets
        open, the frames of one are not split while the others' bytes wait to be read (and stamped)."""
        chunks: list[tuple[float, bytes]] = []
        seen = self.buffer + b"".join(text for _, text in self.received)
        while last not in seen[-len(last) - 16 :]:  # the last frame's end: a short tail is enough to look at
            chunks.append(await self._read())
            seen = seen[-len(last) - 16 :] + chunks[-1][1]
        for read_at, chunk in chunks:
            self._split(read_at, chunk)
        frames = list(self.received)
        self.received.clear()
        return frames

    async def _read(self) -> tuple[float, bytes]:
        chunk = await self.reader.read(1 << 16)
        assert chunk, "the server closed the socket"
        return time.time(), chunk

    def _split(self, read_at: float, chunk: bytes) -> None:
        buffer, at = self.buffer + chunk, 0
        while len(buffer) - at >= 2:
            opcode, length, start = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, at + 2
            if length >= 126:
                start = at + (4 if length == 126 else 10)
                length = int.from_bytes(buffer[at + 2 : start], "big")
            if len(buffer) < start + length:
                break  # the rest of the frame is still on its way
            if opcode == Opcode.TEXT:  # a server's frames are not masked, nor fragmented by this one
                self.received.append((read_at, buffer[start : start + length]))
            at = start + length
        self.buffer = buffer[at:]

    def close(self) -> None:
        self.writer.close()


async def _live_round(
    bench: Bench, source: str, targets: int, workers: list[subprocess.Popen[bytes]], sockets: int = 1
) -> tuple[str, list[tuple[float, dict[str, Any]]]] | None:
    """Promote with `sockets` subscribers open before anything is worked; every message each socket got past its
    snapshot, with its receipt time. None when a snapshot shows a target already worked (the round would not be
    honest)."""
    readers = [await _FrameReader.connect(bench.port) for _ in range(sockets)]
    try:
        for ws in readers:
            ws.send({"type": "connection_init", "payload": {"token": bench.token}})
        for ws in readers:
            assert (await ws.next_message())[1]["type"] == "connection_ack"
        with _paused(workers):
            promotion_id = await bench.promote(source)
            subscribe = {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": PROGRESS, "variables": {"id": promotion_id}},
            }
            for ws in readers:
                ws.send(subscribe)
            # Each snapshot is one message per target, read from the database after the socket's stream position
            # was taken: from there on, everything arrives through the stream.
            snapshots = [[(await ws.next_message())[1] for _ in range(targets)] for ws in readers]
        lives = await asyncio.gather(*(_live_messages(ws) for ws in readers))
    finally:
        for ws in readers:
            ws.close()
    for snapshot in snapshots:
        if any(message["payload"]["data"]["promotionProgress"]["sequence"] != 0 for message in snapshot):
            return None  # worked before the subscription was open
    return promotion_id, [received for live in lives for received in live]


async def _live_messages(ws: _FrameReader) -> list[tuple[float, dict[str, Any]]]:
    """A subscribed socket's messages until `complete`, each with its receipt time."""
    frames = await ws.frames_until(COMPLETE)
    live: list[tuple[float, dict[str, Any]]] = []
    for received_at, text in frames[:-1]:
        message = json.loads(text)
        assert message["type"] == "next", message
        live.append((received_at, message["payload"]["data"]["promotionProgress"]))
    assert json.loads(frames[-1][1])["type"] == "complete"
    return live


async def _entry_times(redis: Redis, promotion_gid: str) -> dict[tuple[int, int], float]:
    """When each (target, sequence) event reached the promotion's stream, by its entry id (milliseconds)."""
    promotion_id = int(GlobalID.from_id(promotion_gid).node_id)
    times: dict[tuple[int, int], float] = {}
    for entry_id, fields in await redis.xrange(PROMOTION_EVENTS.stream(promotion_id)):
        event = PROMOTION_EVENTS.decode({key.decode(): value.decode() for key, value in fields.items()})
        for target in event.targets if isinstance(event, TargetChanges) else ():
            times[target.id, target.sequence] = int(entry_id.split(b"-")[0]) / 1000
    return times


def _p(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


async def latency(
    bench: Bench, workers: list[subprocess.Popen[bytes]], *, targets: int, events: int, sockets: int = 1
) -> None:
    total: list[float] = []
    worker_side: list[float] = []
    api_side: list[float] = []
    rounds = dropped = 0
    redis = Redis.from_url(bench.env["REDIS_URL"])
    while len(total) < events:
        rounds += 1
        source = await bench.pipeline(f"lat{targets}s{sockets}r{rounds}", targets, release_phase=False)
        result = await _live_round(bench, source, targets, workers, sockets)
        if result is None:
            dropped += 1
            continue
        promotion_id, live = result
        xadded = await _entry_times(redis, promotion_id)
        for received_at, progress in live:
            written = datetime.fromisoformat(progress["target"]["updatedAt"]).timestamp()
            total.append((received_at - written) * 1000)
            key = (int(GlobalID.from_id(progress["target"]["id"]).node_id), progress["sequence"])
            if key in xadded:
                worker_side.append((xadded[key] - written) * 1000)
                api_side.append((received_at - xadded[key]) * 1000)
    await redis.aclose()
    p99 = _p(total, 0.99)
    following = f", {sockets} sockets following each" if sockets > 1 else ""
    print(
        f"\nevent latency, {targets}-target promotions{following}: {len(total)} events counted, all written after the "
        f"subscription was open\n  ({rounds - dropped} rounds counted, {dropped} dropped because a target was worked "
        f"before the subscription was open; {(rounds - dropped) * targets * sockets} snapshot messages not counted)"
    )
    # The aim is one subscriber's, as this bench measured it when the aim was set; with many sockets each burst is
    # also sent to every other one first, in turn: measured, shown, but not held to it.
    aim = (
        f"aim: p99 <= {EVENT_P99_AIM_MS} ms, ratio p99/aim {p99 / EVENT_P99_AIM_MS:.2f}"
        if sockets == 1
        else f"no aim: {EVENT_P99_AIM_MS} ms is one subscriber's, above"
    )
    print(f"  worker's write -> receipt  p50 {_p(total, 0.5):6.1f} ms  p99 {p99:6.1f} ms  ({aim})")
    if worker_side:
        print(
            f"  write -> XADD   (worker)   p50 {_p(worker_side, 0.5):6.1f} ms  p99 {_p(worker_side, 0.99):6.1f} ms\n"
            f"  XADD -> receipt (API)      p50 {_p(api_side, 0.5):6.1f} ms  p99 {_p(api_side, 0.99):6.1f} ms  "
            f"({len(api_side)} events matched to their stream entry; its id counts whole ms, so up to 1 ms moves "
            "from the worker's side to the API's)"
        )


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
        f"({(during - before) / SUBSCRIBERS:.0f} KiB per subscriber; aim <= +100 MB, ratio "
        f"{(during - before) / 1024 / 100:.2f}); {complete}/{SUBSCRIBERS} saw it complete"
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
            await latency(bench, workers, targets=50, events=LATENCY_EVENTS)
            await latency(bench, workers, targets=1, events=LATENCY_EVENTS // 4)
            await latency(bench, workers, targets=50, events=LATENCY_EVENTS * FOLLOWERS, sockets=FOLLOWERS)
            await memory(bench, api.pid, workers)
            await bench.http.aclose()
            await bench.redis.aclose()
        await close_db()


if __name__ == "__main__":
    asyncio.run(main())
