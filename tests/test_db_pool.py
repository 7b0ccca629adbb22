"""Pooled PostgreSQL connections are handed back without asyncpg's reset statement (pipegraph.db.NoResetConnection):
safe only while our code leaves nothing session-scoped on them. These tests guard that."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tortoise.connection import connections

from pipegraph.db import NoResetConnection
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.database import is_postgres
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, promotion, shop_pipeline

POSTGRES_ONLY = pytest.mark.skipif(
    not is_postgres(), reason="PostgreSQL only: SQLite has no connection pool, nor any session state to leave behind"
)

# What a session keeps after a statement ends, each counted on the connection it runs on.
SESSION_STATE = {
    "a SET (not SET LOCAL)": "SELECT count(*) FROM pg_settings WHERE source = 'session'",
    "a temporary table": "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()",
    "a session advisory lock": "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
    "a LISTEN": "SELECT count(*) FROM pg_listening_channels()",
    # (the statement asking shows up as an unnamed portal; only a held cursor outlives its transaction)
    "a held cursor": "SELECT count(*) FROM pg_cursors WHERE is_holdable AND name <> ''",
    "a prepared transaction": "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()",
}
# The statements that would leave such state; SET LOCAL and pg_advisory_xact_lock end with their transaction.
# SQL keywords are written in capitals here (as `set X=` in prose is not SQL).
SESSION_STATEMENTS = re.compile(
    r"\b(SET\s+(SESSION\s+)?(?!LOCAL\b)[a-z_.]+\s*(=|TO\b)|CREATE\s+(TEMP|TEMPORARY)\b|LISTEN\s|"
    r"PREPARE\s+TRANSACTION|WITH\s+HOLD|(?i:pg_advisory_lock|pg_try_advisory_lock|set_config)\b)"
)
SOURCES = [Path(__file__).resolve().parent.parent / folder for folder in ("src/pipegraph", "workers")]


def pool() -> Any:
    return connections.get("default")._pool


async def every_pooled_connection_state() -> dict[str, list[int]]:
    """The session state of each connection of the pool, all held at once so that each is a different one."""
    held = [await pool().acquire() for _ in range(pool().get_max_size())]
    try:
        return {what: [await con.fetchval(sql) for con in held] for what, sql in SESSION_STATE.items()} | {
            "an open transaction": [int(con.is_in_transaction()) for con in held],
            "another connection class": [int(not isinstance(con, NoResetConnection)) for con in held],
        }
    finally:
        for con in held:
            await pool().release(con)


@POSTGRES_ONLY
async def test_our_code_paths_leave_no_session_state_on_pooled_connections(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given reads, mutations, a promotion run by a real worker (its release phase too) and a refused mutation
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy_release_script(gql, app="shop-staging", script="echo migrating\n")
    await jobs.drain()
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    await jobs.drain()
    assert (await promotion(gql, promotion_id))["status"] == "COMPLETED"
    assert (await promote(gql, source="shop-review"))["userErrors"]
    await gql("{ pipelines(first: 5) { edges { node { name stages { name apps { name } } } } } }")

    # then no pooled connection carries anything from them into the next request
    state = await every_pooled_connection_state()
    assert {what: counts for what, counts in state.items() if any(counts)} == {}


def test_no_statement_of_ours_opens_session_state() -> None:
    # The workload above cannot take every path: no source file may hold a statement that outlives its transaction.
    found = [
        f"{path}: {match.group(0)}"
        for folder in SOURCES
        for path in folder.rglob("*.py")
        if "migrations" not in path.parts
        for match in SESSION_STATEMENTS.finditer(path.read_text())
    ]
    assert found == []
