"""Redis Streams for live progress: the database holds the truth, a stream only carries news of it.

Publishing never fails a job: when Redis is away, subscribers fall back to reading the database.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

STREAM_TTL_SECONDS = 24 * 3600  # long enough for any subscriber to catch up; the database keeps the history
STREAM_MAX_LENGTH = 10_000
StreamEntry = tuple[str, dict[str, str]]


def promotion_stream(promotion_id: int) -> str:
    return f"pipegraph:promotion:{promotion_id}:events"


def release_log_stream(release_id: int) -> str:
    return f"pipegraph:release:{release_id}:log"


async def publish(redis: Any, stream: str, fields: dict[str, str]) -> None:
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, fields, maxlen=STREAM_MAX_LENGTH, approximate=True)
            pipe.expire(stream, STREAM_TTL_SECONDS)
            await pipe.execute()
    except (RedisError, OSError) as error:
        logger.warning("could not publish to %s (subscribers will read the database): %s", stream, error)


async def last_entry_id(redis: Any, stream: str) -> str:
    """Where to start following so nothing written after this call is missed (taken before reading the database)."""
    entries = await redis.xrevrange(stream, count=1)
    return _text(entries[0][0]) if entries else "0-0"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
