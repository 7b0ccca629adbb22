"""Failing at start with one clear line: a server that cannot reach its database, or finds it unmigrated, must not
start and say it is healthy, and a command must not answer a typo in DATABASE_URL with a traceback."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import click
from tortoise.connection import connections
from tortoise.exceptions import BaseORMException
from tortoise.migrations.executor import MigrationExecutor

from pipegraph.db import close_db, init_db, tortoise_config

# What a bad DATABASE_URL, a server that is down, unknown or refuses us, or a missing table raise. (Not every
# OSError: a command's own file errors are not the database's.)
DATABASE_ERRORS = (
    ConnectionError,
    socket.gaierror,
    TimeoutError,
    BaseORMException,
    asyncpg.PostgresError,
    sqlite3.Error,
)


class StartupError(click.ClickException):
    """Printed by click as one line, `Error: …`, with exit status 1."""


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        text += " (is the database migrated? run `pipegraph migrate`)"
    return text


async def pending_migrations(database_url: str) -> list[str]:
    """The committed migrations not yet applied to the database; raises what the database raises if unreachable."""
    await init_db(database_url)
    try:
        # Connections open lazily: ask something, so that an unreachable server says so here.
        await connections.get("default").execute_query("SELECT 1")
        executor = MigrationExecutor(connections.get("default"), tortoise_config(database_url)["apps"])
        return [f"{step.migration.app_label}.{step.migration.name}" for step in await executor.plan()]
    finally:
        await close_db()


def check_database(database_url: str, *, shown_as: str) -> None:
    """Raise StartupError unless the database answers and has every migration applied."""
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    if database_url.startswith("sqlite://") and path != ":memory:" and not Path(path).is_file():
        # Connecting would create an empty file (or hang on a missing folder): there is nothing migrated there.
        raise StartupError(f"there is no database file at {path}: run `pipegraph migrate` (or set DATABASE_URL)")
    try:
        pending = asyncio.run(pending_migrations(database_url))
    except DATABASE_ERRORS as error:
        raise StartupError(f"cannot use the database {shown_as}: {_reason(error)}") from None
    if pending:
        raise StartupError(
            f"the database {shown_as} is not migrated ({len(pending)} migration(s) pending, from {pending[0]}): "
            "run `pipegraph migrate`"
        )


class OneLineErrors(click.Group):
    """Database failures in any command are one line naming the cause, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DATABASE_ERRORS as error:
            raise StartupError(f"database error (DATABASE_URL): {_reason(error)}") from None
