"""Statements over many rows at once, where tortoise would make one round trip per row.

The values are tortoise's own (each field's `to_db_value`: its defaults, timestamps, enums and JSON), only the
statement is ours, written for both dialects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


def is_postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


def marks(connection: BaseDBAsyncClient) -> Iterator[str]:
    """Parameter placeholders in order: `$1, $2, …` for asyncpg, `?` for SQLite."""
    number = 0
    while True:
        number += 1
        yield f"${number}" if is_postgres(connection) else "?"


def in_list(mark: Iterator[str], count: int) -> str:
    return "(" + ", ".join(next(mark) for _ in range(count)) + ")"


async def insert_returning(connection: BaseDBAsyncClient, rows: Sequence[Model], *, key: str) -> dict[Any, int]:
    """Insert every row in one statement; returns each new id by the row's `key` column (unique among `rows`: the
    order of RETURNING is not promised by either database)."""
    if not rows:
        return {}
    meta = type(rows[0])._meta
    fields = [name for name in meta.fields_db_projection if name != meta.pk_attr]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in fields)
    values = [meta.fields_map[name].to_db_value(getattr(row, name), row) for row in rows for name in fields]
    mark = marks(connection)
    tuples = ", ".join(in_list(mark, len(fields)) for _ in rows)
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {tuples} RETURNING "id", "{key}"'
    returned = await connection.execute_query_dict(sql, values)
    return {row[key]: int(row["id"]) for row in returned}
