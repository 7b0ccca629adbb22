"""Access notices: a revoked token, an ended browser session, or a user's changed rights, pushed to every API process
through Redis pub/sub, so that open WebSockets need no database look-up per event to stay immediate.

Immediacy comes from the order, not from speed: `announce` publishes and then waits until every process that received
the notice has applied it (each answers on a one-off list), so once a revoke or a rights change has returned, every
listening process already refuses the token and re-reads the rights. A process that is not listening (Redis away,
just started, reconnecting) is not counted by PUBLISH and does not need to be: until it has subscribed and then
re-checked every open socket from the database, it is not `live`, and its sockets look their credential up per event
as they always did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

ACK_TIMEOUT_SECONDS = 5.0
RECONNECT_DELAY_SECONDS = 0.5
# How long a listener waits for a message before checking the connection is still there.
POLL_SECONDS = 1.0
# A backstop for what no notice announces (a revocation by a process that did not know this Redis, an edit by hand):
# every open socket is re-checked from the database this often, one statement for them all.
RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class AccessNotice:
    """What changed: tokens revoked, sessions ended, users whose rights (team roles, app grants) changed."""

    tokens: frozenset[int] = frozenset()
    sessions: frozenset[int] = frozenset()
    users: frozenset[int] = frozenset()

    def encode(self, ack: str) -> str:
        return json.dumps(
            {"tokens": sorted(self.tokens), "sessions": sorted(self.sessions), "users": sorted(self.users), "ack": ack}
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> tuple[AccessNotice, str]:
        body = json.loads(raw)
        notice = cls(
            tokens=frozenset(int(key) for key in body.get("tokens", [])),
            sessions=frozenset(int(key) for key in body.get("sessions", [])),
            users=frozenset(int(key) for key in body.get("users", [])),
        )
        return notice, str(body["ack"])


LISTENER_NAME = "pipegraph-access-notices"  # the listener's connection, as CLIENT LIST shows it


def channel(redis: Redis) -> str:
    # Pub/sub ignores the database number: the channel names it, so two installations on one server stay apart.
    return f"pipegraph:access:{redis.connection_pool.connection_kwargs.get('db', 0)}"


async def announce(redis_url: str | None, notice: AccessNotice) -> None:
    """Tell every listening API process, and return once each has applied the notice (or after ACK_TIMEOUT_SECONDS:
    a process that is stuck that long is logged; its sockets still refuse the credential at their next message).

    Call it after the change committed. Without Redis there are no subscriptions to stop."""
    if redis_url is None:
        return
    ack = f"pipegraph:access-ack:{secrets.token_hex(8)}"
    redis: Redis = Redis.from_url(redis_url)
    try:
        receivers = int(await redis.publish(channel(redis), notice.encode(ack)))
        deadline = time.monotonic() + ACK_TIMEOUT_SECONDS
        for answered in range(receivers):
            remaining = deadline - time.monotonic()
            # redis-py types the timeout as whole seconds; Redis takes fractions.
            confirmed = remaining > 0 and await cast(Awaitable[Any], redis.blpop([ack], timeout=remaining))  # type: ignore[arg-type]
            if not confirmed:
                missing = receivers - answered
                logger.warning("%d of %d API processes did not confirm an access notice", missing, receivers)
                break
        await redis.delete(ack)
    except (RedisError, OSError) as error:
        # Every listener lost Redis too: each re-checks all its sockets from the database before trusting pub/sub again.
        logger.warning("could not announce an access notice (listeners re-check on reconnecting): %s", error)
    finally:
        await redis.aclose()


class NoticeListener:
    """Follows the access channel for one API process; `live` only while subscribed and re-checked since.

    `apply` handles each notice before it is confirmed; `recheck` reads every open socket's credential and rights
    again from the database, after each (re)subscription: what was announced while nobody listened is found there.
    """

    def __init__(
        self,
        redis_url: str,
        apply: Callable[[AccessNotice], Awaitable[None]],
        recheck: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        self.redis_url = redis_url
        self._apply, self._recheck, self._on_lost = apply, recheck, on_lost
        self.live = False
        # Which stretch of listening this is: what was checked in the database during an earlier one (or while not
        # listening) may have missed a notice, and must not be relied on as if checked during this one.
        self.epoch = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="access-notices")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.live = False

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as error:
                logger.warning("access notices lost, falling back to look-ups per event: %s", error)
            finally:
                self._lost()
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)

    def _lost(self) -> None:
        self.live = False
        self._on_lost()

    async def _listen(self) -> None:
        redis: Redis = Redis.from_url(self.redis_url, client_name=LISTENER_NAME)
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel(redis))
            while (await pubsub.get_message(timeout=POLL_SECONDS)) is None:  # the subscription's confirmation
                pass
            # Subscribed: from now on every notice reaches this process. What came before is in the database.
            await self._recheck()
            self.epoch += 1
            self.live = True
            rechecked = time.monotonic()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
                if time.monotonic() - rechecked > RECHECK_SECONDS:
                    await self._recheck()
                    rechecked = time.monotonic()
                if message is None:
                    await pubsub.ping()  # a dead connection shows here, not by silence
                    continue
                if message.get("type") != "message":
                    continue
                try:
                    notice, ack = AccessNotice.decode(message["data"])
                except (ValueError, KeyError, TypeError):
                    logger.warning("ignored a malformed access notice: %r", message["data"])
                    continue
                await self._apply(notice)
                await cast(Awaitable[int], redis.rpush(ack, b"1"))
                await redis.expire(ack, int(ACK_TIMEOUT_SECONDS) + 1)
        finally:
            self.live = False
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(RedisError, OSError):
                await redis.aclose()
