"""Tortoise set-up: one app label, migrations committed in `pipegraph.migrations`."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

APP_LABEL = "pipegraph"
MODEL_MODULES = [
    "pipegraph.accounts.models",
    "pipegraph.apps.models",
    "pipegraph.slugs.models",
    "pipegraph.releases.models",
    "pipegraph.pipelines.models",
    "pipegraph.teams.models",
    "pipegraph.promotions.models",
    "pipegraph.sources.models",
    "pipegraph.builds.models",
]


def _with_sqlite_pragmas(database_url: str) -> str:
    # Several processes (API, workers) may share one SQLite file: wait for a lock instead of failing at once.
    if database_url.startswith("sqlite://") and "busy_timeout" not in database_url:
        separator = "&" if "?" in database_url else "?"
        return f"{database_url}{separator}busy_timeout=10000"
    return database_url


def with_pool_size(database_url: str, size: int) -> str:
    """A PostgreSQL URL asking for a pool of `size` connections, unless the URL already chose one.

    A worker runs many jobs at once, each mostly waiting on the database: tortoise's default of 5 would queue them.
    """
    if not database_url.startswith(("postgres://", "asyncpg://")) or "maxsize=" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}maxsize={size}"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _with_sqlite_pragmas(database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "pipegraph.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    # The global fallback lets request tasks see the connections opened in the ASGI lifespan task.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def migrate(database_url: str) -> None:
    """Apply every committed migration; safe to run again (applied ones are recorded)."""
    await tortoise_migrate(config=tortoise_config(database_url))


async def close_db() -> None:
    await Tortoise.close_connections()
