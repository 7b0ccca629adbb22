"""Writing to a stream, and the stream families (`Topic`) with their one event shape each.

Publishing never fails a job: when Redis is away, subscribers fall back to reading the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Generic, Protocol, TypeVar

import hiredis
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
    six per target), and all at once: in one MULTI/EXEC, so that a reader blocked on a stream is handed the whole
    batch in one reply, not its first entry and then the rest (what the reader hands on, a subscription decides
    visibility for once: api/event_batches.py)."""
    if not entries:
        return
    streams = list(dict.fromkeys(stream for stream, _ in entries))
    commands: list[tuple[str | int, ...]] = [
        ("XADD", stream, "MAXLEN", "~", STREAM_MAX_LENGTH, "*", *chain.from_iterable(fields.items()))
        for stream, fields in entries
    ]
    commands += [("EXPIRE", stream, STREAM_TTL_SECONDS) for stream in streams]
    try:
        await _transaction(redis, commands)
    except (RedisError, OSError) as error:
        logger.warning("could not publish to %s (subscribers will read the database): %s", ", ".join(streams), error)


async def _transaction(redis: Redis, commands: Sequence[tuple[str | int, ...]]) -> None:
    """The commands in one MULTI/EXEC, packed by hiredis.

    What redis-py's pipeline does, but its asyncio connection packs commands in Python, argument by argument: for a
    50-target burst (250 XADDs of 22 arguments each) that took 6 to 11 ms between the commit and the write, against
    half a millisecond here. Any failure drops the connection rather than hand it back with replies unread.
    """
    pool = redis.connection_pool
    connection = await pool.get_connection()
    try:
        # (hiredis's stub says a command is a tuple of one argument: it takes any number)
        packed = b"".join(
            hiredis.pack_command(command)  # type: ignore[arg-type]
            for command in (("MULTI",), *commands, ("EXEC",))
        )
        await connection.send_packed_command(packed)
        for _ in range(len(commands) + 1):
            await connection.read_response()  # OK, then QUEUED for each command (an error reply raises)
        replies = await connection.read_response()
    except BaseException:
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)
    failed = [reply for reply in replies or [] if isinstance(reply, Exception)]
    if failed:
        raise failed[0]


async def last_entry_id(redis: Redis, stream: str) -> str:
    """Where to start following so nothing written after this call is missed (taken before reading the database)."""
    entries = await redis.xrevrange(stream, count=1)
    return text(entries[0][0]) if entries else "0-0"


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
