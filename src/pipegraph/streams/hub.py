"""One Redis reader per followed stream per API process, shared by every subscriber of that stream.

A thousand subscribers of one promotion cost one blocking XREAD and one connection, not a thousand, and each entry is
decoded once for all of them (events are immutable values). A subscriber joins by registering its queue first and then
reading, once, what the stream holds after its own starting point: whatever the shared reader delivers too is dropped
by entry id, so nothing is missed and nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeAlias

from prometheus_client import Histogram
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pipegraph.streams.publish import E, Topic, last_entry_id, text

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 1_000
Delivery: TypeAlias = list[tuple[str, E]]  # entries read together: each one's id and event
RECONNECT_DELAY_SECONDS = 0.5
# In no global registry: /metrics (api/metrics.py) assembles its own at each scrape.
EVENT_LAG = Histogram(
    "pipegraph_event_lag_seconds",
    "Time from a worker writing an event to its delivery to a subscriber (by the stream entry id's clock)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)


def _entry_key(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class _Reader(Generic[E]):
    """Follows one stream for as long as it has subscribers."""

    def __init__(self, hub: StreamHub, topic: Topic[E], stream: str, position: str) -> None:
        self.hub, self.topic, self.stream, self.position = hub, topic, stream, position
        self.queues: set[asyncio.Queue[Delivery[E]]] = set()  # one per subscriber
        self.task = asyncio.create_task(self._run(), name=f"stream-reader:{stream}")

    async def _run(self) -> None:
        redis: Redis = Redis.from_url(self.hub.redis_url)
        try:
            while True:
                try:
                    response = await redis.xread({self.stream: self.position}, block=READ_BLOCK_MS, count=500)
                except (RedisError, OSError) as error:
                    # Subscribers fall back to the database while Redis is away; keep trying to come back.
                    logger.warning("reading %s failed, retrying: %s", self.stream, error)
                    await asyncio.sleep(RECONNECT_DELAY_SECONDS)
                    continue
                for _, items in response or []:
                    if items:
                        self.position = text(items[-1][0])
                    entries = _decoded(self.topic, self.stream, items)
                    if entries:
                        for queue in self.queues:
                            queue.put_nowait(entries)
        finally:
            await redis.aclose()


class StreamFollower(Generic[E]):
    """A subscriber's view of one stream of a topic from its starting point on."""

    def __init__(
        self, redis: Redis, topic: Topic[E], stream: str, position: str, queue: asyncio.Queue[Delivery[E]]
    ) -> None:
        self.redis, self.topic, self.stream, self.position, self.queue = redis, topic, stream, position, queue
        self.caught_up = False
        # What the last `read` returned came in: the stream's reader's delivery (the stream and its last entry's id,
        # the same for every follower of the stream), or None for a read of this follower's own (catching up).
        self.delivery: tuple[str, str] | None = None

    async def read(self, *, block_ms: int) -> list[E]:
        """New events, waiting up to `block_ms` for some; an empty list when the stream stayed quiet."""
        self.delivery = None
        if not self.caught_up:
            try:
                backlog = await self.redis.xrange(self.stream, min=f"({self.position}", max="+")
            except (RedisError, OSError):
                # Redis is away: a quiet stream to the caller, which reads the database; catch up once it is back.
                await asyncio.sleep(block_ms / 1000)
                return []
            self.caught_up = True
            entries = _decoded(self.topic, self.stream, backlog)
            if entries:
                return self._after_position(entries)
        try:
            batch = await asyncio.wait_for(self.queue.get(), timeout=block_ms / 1000)
        except TimeoutError:
            return []
        self.delivery = self.stream, batch[-1][0]
        # Only live deliveries are timed: a backlog read on joining is old by design, not late.
        now_ms = time.time() * 1000
        for entry_id, _ in batch:
            EVENT_LAG.observe(max(0.0, now_ms - _entry_key(entry_id)[0]) / 1000)
        return self._after_position(batch)

    def _after_position(self, entries: Delivery[E]) -> list[E]:
        # Entries come in stream order: from the first one past the position, all are (a burst's 250 entry ids were
        # parsed twice each to find that out).
        position = _entry_key(self.position)
        first = next((index for index, (entry_id, _) in enumerate(entries) if _entry_key(entry_id) > position), None)
        fresh = [] if first is None else entries[first:]
        if fresh:
            self.position = fresh[-1][0]
        return [event for _, event in fresh]


class StreamHub:
    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.redis: Redis = Redis.from_url(redis_url)  # short commands: positions and catch-up reads
        self._readers: dict[str, _Reader[Any]] = {}

    @contextlib.asynccontextmanager
    async def follow(
        self, topic: Topic[E], row_id: int, *, from_start: bool = False
    ) -> AsyncIterator[StreamFollower[E]]:
        """Follow the row's stream of `topic` from this moment on (call before reading the database, so nothing falls
        in between), or from its first entry."""
        stream = topic.stream(row_id)
        position = "0-0" if from_start else await self._position_now(stream)
        queue: asyncio.Queue[Delivery[E]] = asyncio.Queue()
        reader = self._readers.get(stream)
        if reader is None:
            reader = self._readers[stream] = _Reader(self, topic, stream, position)
        reader.queues.add(queue)
        try:
            yield StreamFollower(self.redis, topic, stream, position, queue)
        finally:
            reader.queues.discard(queue)
            if not reader.queues and self._readers.get(stream) is reader:
                del self._readers[stream]
                reader.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader.task

    async def _position_now(self, stream: str) -> str:
        try:
            return await last_entry_id(self.redis, stream)
        except (RedisError, OSError) as error:
            # Redis is away: follow from the stream's start once it is back. Every topic's follower drops what it
            # already has (a promotion's by target sequence, a log is read whole), and meanwhile the subscriber is
            # served from the database, as it is when the stream goes quiet.
            logger.warning("no position on %s, following it from its start: %s", stream, error)
            return "0-0"

    async def close(self) -> None:
        for reader in list(self._readers.values()):
            reader.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader.task
        self._readers.clear()
        await self.redis.aclose()


def _decoded(
    topic: Topic[E], stream: str, items: list[tuple[bytes | str, dict[bytes | str, bytes | str]]]
) -> Delivery[E]:
    """The entries' events, without those this version cannot read: written by another version of pipegraph while
    both run (an upgrade), they are skipped, and their followers learn what they said from the database (a promotion's
    at its end, or once its stream goes quiet)."""
    delivery: Delivery[E] = []
    for entry_id, fields in items:
        try:
            delivery.append((text(entry_id), topic.decode({text(key): text(value) for key, value in fields.items()})))
        except (KeyError, ValueError, TypeError) as error:
            logger.warning("skipping entry %s of %s, which this version cannot read: %r", text(entry_id), stream, error)
    return delivery
