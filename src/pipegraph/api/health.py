"""Probes for load balancers and orchestrators, and the routes operators use: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.constants import default_queue_name, health_check_key_suffix
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.connection import connections

from pipegraph.settings import Settings

# A probe that waits longer than an orchestrator's own timeout tells it nothing: each check gives up after this.
CHECK_TIMEOUT = 2.0
# arq writes `<queue>:health-check` every `health_check_interval` seconds, expiring just after: while it exists, a
# worker has checked in within one interval.
WORKER_HEALTH_KEY = default_queue_name + health_check_key_suffix
OK = "ok"


@asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[Redis]:
    """A short-lived client for a probe or a scrape: it must not hang on a Redis that is gone."""
    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
    try:
        yield client
    finally:
        await client.aclose()


def _failing(error: BaseException) -> str:
    reason = " ".join(str(error).split()) or type(error).__name__
    return f"failing: {reason}"


async def check_database() -> str:
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), CHECK_TIMEOUT)
    except Exception as error:
        return _failing(error)
    return OK


async def check_redis_and_worker(redis_url: str | None) -> dict[str, str]:
    if not redis_url:
        reason = "failing: REDIS_URL is not set, so no job can run"
        return {"redis": reason, "worker": reason}
    try:
        async with redis_client(redis_url) as redis:
            await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT)
            seen = await asyncio.wait_for(redis.exists(WORKER_HEALTH_KEY), CHECK_TIMEOUT)
    except Exception as error:
        return {"redis": _failing(error), "worker": "unknown: Redis does not answer"}
    worker = OK if seen else "failing: no worker has checked in recently (run `pipegraph worker`)"
    return {"redis": OK, "worker": worker}


async def healthz(request: Request) -> Response:
    """The process is up and its event loop answers; nothing else is asked."""
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> Response:
    """Ready when the database and Redis answer and a worker has checked in recently; else 503 saying what fails."""
    settings: Settings = request.app.state.settings
    database, others = await asyncio.gather(check_database(), check_redis_and_worker(settings.redis_url))
    checks = {"database": database, **others}
    ready = all(value == OK for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


def operator_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    if settings.metrics:
        from pipegraph.api.metrics import metrics

        routes.append(Route("/metrics", metrics))
    return routes
