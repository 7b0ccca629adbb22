"""arq worker settings and lifecycle. Jobs stay thin: they turn IDs into service calls."""

from __future__ import annotations

import os
import time
from typing import Any

from arq import cron
from arq.connections import RedisSettings

from pipegraph.db import close_db, init_db
from pipegraph.redis import redis_settings
from pipegraph.settings import Settings

INCOMING_MAX_AGE = 24 * 3600


async def startup(ctx: dict[str, Any]) -> None:
    settings = ctx.setdefault("settings", Settings.from_env())
    # An in-process worker (`pipegraph dev`, tests) shares the API's database connection.
    if not ctx.get("db_ready"):
        await init_db(settings.database_url)
        ctx["owns_db"] = True


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("owns_db"):
        await close_db()


async def sweep_incoming_uploads(ctx: dict[str, Any]) -> int:
    """Remove partial uploads left by a crashed API process (complete ones were renamed into place)."""
    settings: Settings = ctx["settings"]
    removed = 0
    incoming = settings.slug_dir / "incoming"
    if incoming.exists():
        cutoff = time.time() - INCOMING_MAX_AGE
        for part in incoming.glob("*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
    return removed


def _redis() -> RedisSettings:
    # `pipegraph worker` (distributed) needs a shared Redis; the embedded one only lives inside `pipegraph dev`.
    url = os.environ.get("REDIS_URL")
    return redis_settings(url) if url else RedisSettings()


class WorkerSettings:
    functions: list[Any] = []
    cron_jobs = [cron(sweep_incoming_uploads, minute=17, run_at_startup=False)]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis()
