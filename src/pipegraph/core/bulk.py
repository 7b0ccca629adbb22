"""Statements over many rows at once, where tortoise would make one round trip per row.

The values are tortoise's own (each field's `to_db_value`: its defaults, timestamps, enums and JSON), only the
statement is ours, written for both dialects.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


def is_postgres(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


def marks(connection: BaseDBAsyncClient) -> Iterator[str]:
    """Parameter placeholders in order: `$1, $2, …` for asyncpg, `?` for SQLite."""
    if is_postgres(connection):
        return (f"${number}" for number in itertools.count(1))
    return itertools.repeat("?")


def in_list(mark: Iterator[str], count: int) -> str:
    return "(" + ", ".join(next(mark) for _ in range(count)) + ")"


def literal_ids(ids: Iterable[int]) -> str:
    """The ids as integer literals for `IN (…)` (NULL when none: it matches nothing), where bound values would not do:
    one statement for any number of keys, or one the database plans for its very ids. Only integers are written (each
    converted here), so nothing else can reach the statement."""
    return ",".join(str(int(key)) for key in ids) or "NULL"


async def insert_copies(
    connection: BaseDBAsyncClient, template: Model, changes: Sequence[Mapping[str, Any]], *, key: str
) -> dict[Any, int]:
    """Insert one row per entry of `changes` in one statement: the entry's fields (the same ones in every entry),
    and the unsaved `template`'s values for the others; returns each new id by the row's `key` field (unique among
    `changes`: the order of RETURNING is not promised by either database).

    The template's values are converted once: a promotion to 50 apps built 50 models for each of its inserts and
    converted every value of every one, most of its per-target time in Python."""
    if not changes:
        return {}
    meta = template._meta
    names = [name for name in meta.fields_db_projection if name != meta.pk_attr]
    if unknown := changes[0].keys() - set(names):
        raise ValueError(f"{meta.db_table} has no column field {', '.join(sorted(unknown))}")
    convert = {name: meta.fields_map[name].to_db_value for name in names}
    # Numbered placeholders, so that each of the template's values is sent once and named in every row.
    prefix = "$" if is_postgres(connection) else "?"
    values: list[Any] = []

    def placeholder(value: Any) -> str:
        values.append(value)
        return f"{prefix}{len(values)}"

    fixed = {
        name: placeholder(convert[name](getattr(template, name), template)) for name in names if name not in changes[0]
    }

    def row_of(change: Mapping[str, Any]) -> str:
        own = (fixed[name] if name in fixed else placeholder(convert[name](change[name], template)) for name in names)
        return "(" + ", ".join(own) + ")"

    tuples = ", ".join(row_of(change) for change in changes)
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {tuples} RETURNING "id", "{key}"'
    returned = await connection.execute_query_dict(sql, values)
    return {row[key]: int(row["id"]) for row in returned}
