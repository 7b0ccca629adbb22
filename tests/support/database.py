"""The test database: which kind it is, its tables (read from the models, so a new one is never left out), and
emptying them between tests."""

from __future__ import annotations

import os
from functools import cache

from tortoise import Tortoise
from tortoise.connection import connections
from tortoise.models import Model

from pipegraph.db import APP_LABEL


def is_postgres() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith(("postgres", "asyncpg"))


@cache
def tables_child_first() -> tuple[str, ...]:
    """Every table of the models, each after the tables that refer to it (so deleting in this order breaks no foreign
    key). Read once tortoise is initialised, from the same models the migrations are checked against."""
    models: list[type[Model]] = sorted(Tortoise.apps[APP_LABEL].values(), key=lambda model: model._meta.db_table)
    parents = {
        model: {model._meta.fields_map[name].related_model for name in model._meta.fk_fields} - {model}  # type: ignore[attr-defined]
        for model in models
    }
    ordered: list[type[Model]] = []
    while len(ordered) < len(models):
        # A model no remaining model refers to goes next: its rows hold no one else's references.
        referred = {parent for model in models if model not in ordered for parent in parents[model]}
        ready = [model for model in models if model not in ordered and model not in referred]
        if not ready:
            raise RuntimeError("the models' foreign keys form a cycle: no order deletes them safely")
        ordered.extend(ready)
    return tuple(model._meta.db_table for model in ordered)


# Emptying the tables takes milliseconds. Waiting this long, the TRUNCATE waits for a lock a transaction left open
# holds: it then fails saying which sessions were in a transaction, while pytest's own timeout (120 s) would only say
# that the test's set-up hung (seen once: a session of the suite's pool idle in a transaction on `releases`).
TRUNCATE_PATIENCE_SECONDS = 60
_OPEN_TRANSACTIONS = """
SELECT pid, state, now() - xact_start AS open_for, left(query, 300) AS last_query
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
ORDER BY xact_start"""


async def truncate_all() -> None:
    conn = connections.get("default")
    tables = tables_child_first()
    if is_postgres():
        async with conn.acquire_connection() as connection:
            try:
                await connection.execute(
                    f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE", timeout=TRUNCATE_PATIENCE_SECONDS
                )
            except TimeoutError:  # (asyncpg cancelled the statement; the connection is usable)
                sessions = [dict(row) for row in await connection.fetch(_OPEN_TRANSACTIONS)]
                raise AssertionError(
                    f"emptying the tables waited {TRUNCATE_PATIENCE_SECONDS} s for a lock; sessions in a transaction: "
                    f"{sessions}"
                ) from None
    else:
        for table in tables:
            await conn.execute_script(f"DELETE FROM {table}")
