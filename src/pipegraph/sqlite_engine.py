"""Tortoise's SQLite engine, with write transactions that take SQLite's write lock when they begin.

The API and every worker share one SQLite file, each through its own connection, in WAL mode. A transaction begun
with a plain (deferred) BEGIN reads a snapshot first (`select_for_update` is a plain SELECT on SQLite) and asks for
the write lock only at its first write; if another process committed in between, SQLite refuses at once with
"database is locked" (SQLITE_BUSY_SNAPSHOT), without waiting out `busy_timeout`, since waiting could not help that
snapshot. Fifty promotion targets releasing at once then failed their jobs over and over: a release phase promotion
to 50 apps took 25 times one to a single app. BEGIN IMMEDIATE takes the write lock first, waiting for it up to
`busy_timeout`, so such transactions queue (as the row locks they stand for make them do on PostgreSQL) instead of
failing. Our transactions are there to write; one that only read would merely wait its turn for the lock.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class _ImmediateTransaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise TransactionManagementError(error) from error


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ImmediateTransaction(self), self._lock)


client_class = ImmediateSqliteClient
