"""Processes sharing one SQLite file (the API and the workers): a transaction that reads before it writes waits for
another process's write lock instead of failing with "database is locked" (pipegraph/sqlite_engine.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from tortoise.transactions import in_transaction

from pipegraph.apps.models import App
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.database import is_postgres
from tests.support.factories import create_app

pytestmark = pytest.mark.skipif(is_postgres(), reason="SQLite's file lock; PostgreSQL locks rows and never refuses so")


async def test_a_transaction_that_read_first_still_writes_when_another_process_wrote_meanwhile(
    gql: GraphQLClient, settings: Settings
) -> None:
    # given an app, and another process's connection to the same file
    await create_app(gql, name="shop-prod")
    path = settings.database_url.removeprefix("sqlite://").split("?")[0]
    other_wrote = threading.Event()

    def other_process_writes() -> None:
        connection = sqlite3.connect(path, timeout=30)
        try:
            connection.execute("UPDATE apps SET release_count = release_count + 10 WHERE name = 'shop-prod'")
            connection.commit()
        finally:
            connection.close()
        other_wrote.set()

    # when a transaction reads the app (as `select_for_update` does on SQLite), the other process writes it, and the
    # transaction then writes it too
    other = threading.Thread(target=other_process_writes)
    async with in_transaction():
        app = await App.get(name="shop-prod")
        other.start()
        # Long enough for the other write to commit, were it not waiting for this transaction's lock.
        await asyncio.to_thread(other_wrote.wait, 2)
        await App.filter(id=app.id).update(release_count=app.release_count + 1)
    await asyncio.to_thread(other.join, 30)

    # then neither write failed nor was lost: the other one waited for this transaction, and came after it
    assert other_wrote.is_set()
    assert (await App.get(name="shop-prod")).release_count == 11
