"""Rate limits per client address, for the routes anyone may call without a credential (`POST /cli-logins`).

A moving window of the `limits` library, counted in the shared Redis so that every API replica counts together (in
memory only when there is no Redis). A client address is the connection's peer, or what a trusted proxy forwarded
(uvicorn's `proxy_headers`); an IPv6 address counts as its /64, the block one subscriber is usually given.

Redis away, the limit lets starts through (logged): what they store is bounded anyway by the cap on pending logins,
kept in the database (accounts/cli_login.py).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError
from starlette.requests import Request

logger = logging.getLogger(__name__)

KEY_PREFIX = "pipegraph:limits"


def client_address(request: Request) -> str:
    """Whom a limit counts: the client's IPv4 address, or its IPv6 /64."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class AddressLimits:
    """`rates` ("5/minute;30/hour") for each client address, under `name`. Open it with the app, close it after."""

    def __init__(self, redis_url: str | None, rates: str, *, name: str) -> None:
        self.redis_url = redis_url
        self.items: list[RateLimitItem] = parse_many(rates)
        self.name = name
        self._pool: ConnectionPool | None = None
        self._limiter: MovingWindowRateLimiter | None = None

    async def open(self) -> None:
        storage: Storage
        if self.redis_url:
            self._pool = ConnectionPool.from_url(self.redis_url)
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
                connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
            )
        else:
            storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        self._limiter = None

    async def refusal(self, request: Request) -> int | None:
        """Count this request of its client's; None when it is within every rate, else the seconds to wait (≥ 1)."""
        if self._limiter is None:
            await self.open()
        limiter = self._limiter
        assert limiter is not None
        address = client_address(request)
        try:
            for item in self.items:
                if not await limiter.hit(item, self.name, address):
                    stats = await limiter.get_window_stats(item, self.name, address)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except (StorageError, RedisError, OSError) as error:
            logger.warning("rate limit %s not counted (Redis unavailable): %s", self.name, error)
        return None
