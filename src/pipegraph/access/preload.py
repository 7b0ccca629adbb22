"""The viewer's rights (team roles and app grants) read by the very statement that authenticates a request.

A query then needs no statement of its own for them: at the dashboard's size, that round trip was a third of the
request. Only queries use them (`ContextPerOperation`): a mutation reads its own, since it may change them (a team's
creator becomes its admin within the operation). Nothing is cached across requests: a revoked token or a changed
role counts from the very next request.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from tortoise.connection import connections
from tortoise.expressions import RawSQL
from tortoise.models import Model
from tortoise.queryset import QuerySet

from pipegraph.access.rights import Rights
from pipegraph.access.rules import Permission
from pipegraph.accounts.models import ApiToken, User
from pipegraph.teams.models import TeamRole

M = TypeVar("M", bound=Model)

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


def with_rights(query: QuerySet[M]) -> QuerySet[M]:
    """`query` (on a table with a `user_id`) also reading that user's rights; `rights_of` reads them back."""
    table = query.model._meta.db_table
    dialect = connections.get("default").capabilities.dialect
    return query.annotate(
        preloaded_roles=RawSQL(_ROLES[dialect].format(table=table)),
        preloaded_grants=RawSQL(_GRANTS[dialect].format(table=table)),
    )


def rights_of(row: Any) -> Rights | None:
    """The rights `with_rights` read along with `row`, or None when it did not."""
    roles, grants = getattr(row, "preloaded_roles", None), getattr(row, "preloaded_grants", None)
    if roles is None or grants is None:
        return None
    return Rights(
        viewer_id=row.user_id,
        roles={int(team_id): TeamRole(role) for team_id, role in json.loads(roles)},
        grants={
            int(app_id): frozenset(Permission(p) for p in permissions) for app_id, permissions in json.loads(grants)
        },
    )


# A live token by its hash, its user and the user's rights: the statement every API request starts with, written once
# per dialect rather than built by the ORM on each request (building it cost more than running it). Columns are
# named as the models' own, for `_init_from_db`.
_TOKEN_COLUMNS = ("id", "user_id", "description", "token_hash", "created_at", "last_used_at", "revoked_at")
_USER_COLUMNS = ("id", "email", "name", "created_at")
_LIVE_TOKEN = (
    "SELECT {token}, {user}, {roles} AS preloaded_roles, {grants} AS preloaded_grants "
    'FROM "api_tokens" JOIN "users" u ON u."id" = "api_tokens"."user_id" '
    'WHERE "api_tokens"."token_hash" = {hash} AND "api_tokens"."revoked_at" IS NULL LIMIT 1'
)
_PLACEHOLDER = {"postgres": "$1", "sqlite": "?"}
_statements: dict[str, str] = {}


def _live_token_sql(dialect: str) -> str:
    sql = _statements.get(dialect)
    if sql is None:
        sql = _statements[dialect] = _LIVE_TOKEN.format(
            token=", ".join(f'"api_tokens"."{column}"' for column in _TOKEN_COLUMNS),
            user=", ".join(f'u."{column}" AS "user.{column}"' for column in _USER_COLUMNS),
            roles=_ROLES[dialect].format(table='"api_tokens"'),
            grants=_GRANTS[dialect].format(table='"api_tokens"'),
            hash=_PLACEHOLDER[dialect],
        )
    return sql


async def live_token_with_rights(token_hash: str) -> ApiToken | None:
    """The unrevoked token with this hash, its user loaded and that user's rights read (`rights_of`), in one
    statement; None when there is none."""
    connection = connections.get("default")
    rows = await connection.execute_query_dict(_live_token_sql(connection.capabilities.dialect), [token_hash])
    if not rows:
        return None
    row = rows[0]
    token = ApiToken._init_from_db(**{column: row[column] for column in _TOKEN_COLUMNS})
    token.user = User._init_from_db(**{column: row[f"user.{column}"] for column in _USER_COLUMNS})
    token.preloaded_roles = row["preloaded_roles"]
    token.preloaded_grants = row["preloaded_grants"]
    return token
