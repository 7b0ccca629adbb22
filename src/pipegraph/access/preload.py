"""The viewer's rights (team roles, app grants, pipeline access) read by the statement that authenticates a request.

A query then needs no statement of its own for them: at the dashboard's size, that round trip was a third of the
request. Only queries use them (`ContextPerOperation`): a mutation reads its own, since it may change them (a team's
creator becomes its admin within the operation). Nothing is cached across requests: a revoked token or a changed
role counts from the very next request.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import orjson
from tortoise.connection import connections
from tortoise.fields import DatetimeField
from tortoise.models import Model

from pipegraph.access.rights import Rights
from pipegraph.access.rules import Permission
from pipegraph.accounts.models import ApiToken, BrowserSession, User
from pipegraph.core.dates import parsed_if_stored
from pipegraph.teams.models import TeamRole

# Each a JSON list of [id, value] pairs, correlated on the authenticating row's user_id: `{table}` is its table.
_ROLES = {
    "postgres": "(SELECT coalesce(json_agg(json_build_array(m.team_id, m.role)), '[]')::text "
    "FROM team_memberships m WHERE m.user_id = {table}.user_id)",
    "sqlite": "(SELECT json_group_array(json_array(m.team_id, m.role)) "
    "FROM team_memberships m WHERE m.user_id = {table}.user_id)",
}
_GRANTS = {
    "postgres": "(SELECT coalesce(json_agg(json_build_array(c.app_id, c.permissions)), '[]')::text "
    "FROM app_collaborators c WHERE c.user_id = {table}.user_id)",
    "sqlite": "(SELECT json_group_array(json_array(c.app_id, json(c.permissions))) "
    "FROM app_collaborators c WHERE c.user_id = {table}.user_id)",
}


_PIPELINE_ACCESS = {
    "postgres": "(SELECT coalesce(json_agg(g.pipeline_id), '[]')::text "
    "FROM pipeline_access_grants g WHERE g.user_id = {table}.user_id)",
    "sqlite": "(SELECT json_group_array(g.pipeline_id) "
    "FROM pipeline_access_grants g WHERE g.user_id = {table}.user_id)",
}


def rights_of(row: Any) -> Rights | None:
    """The rights `read_with_rights` read along with `row`, or None when it did not."""
    roles, grants = getattr(row, "preloaded_roles", None), getattr(row, "preloaded_grants", None)
    accesses = getattr(row, "preloaded_pipeline_access", None)
    if roles is None or grants is None or accesses is None:
        return None
    return Rights(
        viewer_id=row.user_id,
        roles={int(team_id): TeamRole(role) for team_id, role in orjson.loads(roles)},
        grants={
            int(app_id): frozenset(Permission(p) for p in permissions) for app_id, permissions in orjson.loads(grants)
        },
        pipeline_access=frozenset(int(pipeline_id) for pipeline_id in orjson.loads(accesses)),
    )


# A request's credential (a token or a browser session) by its hash, its user and the user's rights: the statement
# every API request starts with, written once per dialect rather than built by the ORM on each request (building it
# cost more than running it). Columns are named as the models' own, for `_init_from_db`.
_USER_COLUMNS = ("id", "email", "name", "created_at")
# The rights read along, kept on the credential under these names for `rights_of`.
PRELOADED = ("preloaded_roles", "preloaded_grants", "preloaded_pipeline_access")


def _dates(model: type[Model]) -> frozenset[str]:
    return frozenset(name for name, field in model._meta.fields_map.items() if isinstance(field, DatetimeField))


_USER_DATES = _dates(User)


@dataclass(frozen=True)
class CredentialRead:
    model: type[Model]
    # Conditions on the credential's own columns, each `{}` a value given with the read.
    where: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.model._meta.db_fields)

    @cached_property
    def dates(self) -> frozenset[str]:
        """Its datetime columns: SQLite's text of them is parsed by the C parser (core/dates.py), every request."""
        return _dates(self.model)

    def sql(self, dialect: str) -> str:
        table = f'"{self.model._meta.db_table}"'
        numbers = iter(range(1, len(self.where) + 1))
        conditions = " AND ".join(
            f"{table}.{condition}".format(*(_placeholder(dialect, next(numbers)) for _ in range(condition.count("{}"))))
            for condition in self.where
        )
        return (
            "SELECT "
            + ", ".join(f'{table}."{column}"' for column in self.columns)
            + ", "
            + ", ".join(f'u."{column}" AS "user.{column}"' for column in _USER_COLUMNS)
            + f", {_ROLES[dialect].format(table=table)} AS preloaded_roles"
            + f", {_GRANTS[dialect].format(table=table)} AS preloaded_grants"
            + f", {_PIPELINE_ACCESS[dialect].format(table=table)} AS preloaded_pipeline_access"
            + f' FROM {table} JOIN "users" u ON u."id" = {table}."user_id" WHERE {conditions} LIMIT 1'
        )


def _placeholder(dialect: str, number: int) -> str:
    return f"${number}" if dialect == "postgres" else "?"


LIVE_TOKEN = CredentialRead(ApiToken, ('"token_hash" = {}', '"revoked_at" IS NULL'))
LIVE_SESSION = CredentialRead(
    BrowserSession, ('"secret_hash" = {}', '"kind" = {}', '"ended_at" IS NULL', '"expires_at" > {}')
)


class Along(Protocol):
    """A statement read in the credential's own round trip (reads/fetch.py Along): LEFT JOIN LATERAL behind its row."""

    @property
    def key(self) -> Hashable: ...
    @property
    def values(self) -> Sequence[Any]: ...
    @property
    def order(self) -> str: ...
    def lateral(self, number: int) -> str: ...


_statements: dict[tuple[CredentialRead, str], str] = {}
_along_statements: dict[tuple[CredentialRead, Hashable], str] = {}
MAX_ALONG_STATEMENTS = 512


def _sql(read: CredentialRead, dialect: str) -> str:
    key = (read, dialect)
    sql = _statements.get(key)
    if sql is None:
        sql = _statements[key] = read.sql(dialect)
    return sql


def _along_sql(read: CredentialRead, along: Along) -> str:
    """The credential's statement (PostgreSQL's) with `along` joined LATERAL behind its one row: t's columns first, at
    the indexes its own reader knows, then the credential's, named as its own statement names them."""
    key = (read, along.key)
    sql = _along_statements.get(key)
    if sql is None:
        credential = _sql(read, "postgres")
        lateral = along.lateral(sum(condition.count("{}") for condition in read.where) + 1)
        if len(_along_statements) >= MAX_ALONG_STATEMENTS:
            _along_statements.clear()  # bounded like the plans they come from
        # The credential's columns on the first row only (the one read back): not repeated, and decoded, on each.
        first = f"row_number() OVER (ORDER BY {along.order}) = 1"
        columns = ", ".join(
            f'CASE WHEN {first} THEN k."{name}" END AS "{name}"'
            for name in (
                *read.columns,
                *(f"user.{column}" for column in _USER_COLUMNS),
                *PRELOADED,
            )
        )
        sql = _along_statements[key] = (
            f"SELECT t.*, {columns} FROM ({credential}) k "
            f"LEFT JOIN LATERAL ({lateral}) t ON true ORDER BY {along.order}"
        )
    return sql


async def read_with_rights(read: CredentialRead, values: list[Any], along: Along | None = None) -> Any:
    """The one credential `read` finds with these values (as the model stores them), its user loaded and that user's
    rights read (`rights_of`), in one statement; None when there is none.

    With `along` (PostgreSQL only), that statement reads `along`'s rows too, in the same round trip, behind the
    credential's row: none when there is no credential. They are kept on the credential as `along_rows` (every row,
    each `along`'s columns first; a row without any when `along` found nothing). The credential is read from the
    first row, the only one that holds its columns."""
    connection = connections.get("default")
    if along is None:
        rows: Sequence[Any] = await connection.execute_query_dict(_sql(read, connection.capabilities.dialect), values)
    else:
        _, rows = await connection.execute_query(_along_sql(read, along), [*values, *along.values])
    if not rows:
        return None
    row = rows[0]
    dates = read.dates
    credential = read.model._init_from_db(
        **{column: parsed_if_stored(row[column]) if column in dates else row[column] for column in read.columns}
    )
    credential.user = User._init_from_db(
        **{
            column: parsed_if_stored(row[f"user.{column}"]) if column in _USER_DATES else row[f"user.{column}"]
            for column in _USER_COLUMNS
        }
    )
    for name in PRELOADED:
        setattr(credential, name, row[name])
    credential.along_rows = rows if along is not None else None
    return credential
