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
