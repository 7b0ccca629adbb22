from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User


class TeamKind(StrEnum):
    TEAM = "team"
    ENTERPRISE_TEAM = "enterprise_team"


class TeamRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    COLLABORATOR = "collaborator"  # reaches only the apps explicitly shared with them


class Team(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=30, unique=True)
    kind = fields.CharEnumField(TeamKind, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "teams"


class TeamMembership(Model):
    id = fields.BigIntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "pipegraph.Team", related_name="memberships", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(TeamRole, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    team_id: int
    user_id: int

    class Meta:
        table = "team_memberships"
        unique_together = (("team", "user"),)
        # Found by user in the statement that authenticates every request (access/preload.py): the unique pair leads
        # with the other column, so without this each request scans the table.
        indexes = (("user_id",),)
