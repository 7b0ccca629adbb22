"""Tortoise set-up: one app label, migrations committed in `pipegraph.migrations`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.api import migrate as tortoise_migrate

T = TypeVar("T")
APP_LABEL = "pipegraph"
UNAVAILABLE_MESSAGE = "the database is unavailable: nothing was changed, try again in a few seconds"
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
    "pipegraph.ci.models",
    "pipegraph.github.models",
    "pipegraph.reviewapps.models",
]


def _with_sqlite_pragmas(database_url: str) -> str:
    # Several processes (API, workers) may share one SQLite file: wait for a lock instead of failing at once.
    if database_url.startswith("sqlite://") and "busy_timeout" not in database_url:
        separator = "&" if "?" in database_url else "?"
        return f"{database_url}{separator}busy_timeout=10000"
    return database_url


def has_pool(database_url: str) -> bool:
    """Whether the database is PostgreSQL, read through a pool of connections (SQLite has one connection)."""
    return database_url.startswith(("postgres://", "asyncpg://"))


def with_pool_size(database_url: str, size: int) -> str:
    """A PostgreSQL URL asking for a pool of at most `size` connections, unless the URL already chose one.

    A worker runs up to 50 jobs at once, but each mostly waits on a release command, not the database: they share a
    small pool (a query waits for a free connection) so that every API and worker process fits the server together.
    """
    if not has_pool(database_url) or "maxsize=" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}maxsize={size}"


class NoResetConnection(asyncpg.Connection):  # type: ignore[misc]
    """A PostgreSQL connection handed back to the pool without asyncpg's reset statement.

    asyncpg runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release: one more round trip
    for each short request, doubling them (asyncpg #271, #780; its maintainers suggest this override). It is only
    safe while nothing session-scoped is left on pooled connections (no SET, temporary table, session advisory lock,
    held cursor or LISTEN): tests/test_db_pool.py checks that of our code. An open transaction is still rolled back
    (asyncpg does that before asking for the reset query)."""

    def get_reset_query(self) -> str:
        return ""


def _connection(database_url: str) -> str | dict[str, Any]:
    if database_url.startswith("sqlite://"):
        config = expand_db_url(_with_sqlite_pragmas(database_url))
        config["engine"] = "pipegraph.sqlite_engine"  # write transactions queue for the lock instead of failing
        return config
    if not has_pool(database_url):
        return database_url
    config = expand_db_url(database_url)
    config["credentials"]["connection_class"] = NoResetConnection
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
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


async def init_db(database_url: str, *, pool_size: int | None = None) -> None:
    """Open the database; on PostgreSQL with a pool of at most `pool_size` connections (`PIPEGRAPH_DB_POOL_SIZE`)."""
    if pool_size is not None:
        database_url = with_pool_size(database_url, pool_size)
    # The global fallback lets request tasks see the connections opened in the ASGI lifespan task.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def migrate(database_url: str) -> None:
    """Apply every committed migration; safe to run again (applied ones are recorded)."""
    await tortoise_migrate(config=tortoise_config(database_url))


async def close_db() -> None:
    await Tortoise.close_connections()


def database_unavailable(error: BaseException | None) -> bool:
    """The database could not be reached, or dropped the connection (a restart, a network cut, an administrator
    ending it), as opposed to refusing a statement: the same request or job succeeds once it is back."""
    while error is not None:
        if isinstance(error, DBConnectionError | OSError | TimeoutError):
            return True  # refused, reset or timed out at the socket; tortoise's own "could not connect"
        if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError):
            return True  # lost mid-statement, or the server is shutting down, starting or ended this session
        if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
            return True  # a pooled connection the server had already dropped
        error = error.__cause__
    return False


async def when_reachable(operation: Callable[[], Awaitable[T]], *, tries: int = 30, interval: float = 1.0) -> T:
    """Run `operation`, again every `interval` seconds while the database is unavailable, `tries` times at most.

    For what must not be lost to an outage of a few seconds: the outcome of a release command that already ran, a
    worker letting go of its lease. Any other error, or the last try's, is raised."""
    for _ in range(tries - 1):
        try:
            return await operation()
        except Exception as error:
            if not database_unavailable(error):
                raise
            await asyncio.sleep(interval)
    return await operation()
