"""Writing to a stream, and the stream families (`Topic`) with their one event shape each.

Publishing never fails a job: when Redis is away, subscribers fall back to reading the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

STREAM_TTL_SECONDS = 24 * 3600  # long enough for any subscriber to catch up; the database keeps the history
STREAM_MAX_LENGTH = 10_000
StreamEntry = tuple[str, dict[str, str]]


class Event(Protocol):
    def to_fields(self) -> dict[str, str]: ...


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Topic(Generic[E]):
    """A family of streams, one per row (a promotion, a release), each carrying events of one shape."""

    kind: str  # the row's kind: "promotion", "release"
    channel: str  # what the stream carries: "events", "log"
    decode: Callable[[Mapping[str, str]], E]  # the event from a stream entry's fields

    def stream(self, row_id: int) -> str:
        return f"pipegraph:{self.kind}:{row_id}:{self.channel}"

    async def publish(self, redis: Redis, row_id: int, event: E) -> None:
        await publish(redis, self.stream(row_id), event.to_fields())

    def entry(self, row_id: int, event: E) -> StreamEntry:
        """The event as `publish_all` takes it."""
        return self.stream(row_id), event.to_fields()


async def publish(redis: Redis, stream: str, fields: dict[str, str]) -> None:
    await publish_all(redis, [(stream, fields)])


async def publish_all(redis: Redis, entries: Sequence[StreamEntry]) -> None:
    """Every entry in one round trip, each stream's in the given order (a batch of targets' events: one write, not
    six per target)."""
    if not entries:
        return
    streams = list(dict.fromkeys(stream for stream, _ in entries))
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for stream, fields in entries:
                pipe.xadd(stream, fields, maxlen=STREAM_MAX_LENGTH, approximate=True)  # type: ignore[arg-type]
            for stream in streams:
                pipe.expire(stream, STREAM_TTL_SECONDS)
            await pipe.execute()
    except (RedisError, OSError) as error:
        logger.warning("could not publish to %s (subscribers will read the database): %s", ", ".join(streams), error)


async def last_entry_id(redis: Redis, stream: str) -> str:
    """Where to start following so nothing written after this call is missed (taken before reading the database)."""
    entries = await redis.xrevrange(stream, count=1)
    return text(entries[0][0]) if entries else "0-0"


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
