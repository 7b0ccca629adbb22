from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.teams.models import Team


class App(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=30, unique=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="apps", on_delete=fields.RESTRICT
    )
    # Owned by `team` when set; `owner` is then the user who created or last held it (Heroku's app.team / app.owner).
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "pipegraph.Team", related_name="apps", null=True, on_delete=fields.RESTRICT
    )
    # Review and CI apps: created under the pipeline owner, with permissions taken from the pipeline's access.
    ephemeral = fields.BooleanField(default=False)
    stack = fields.CharField(max_length=40)
    # Config vars belong to the app and never travel with a slug.
    config_vars: dict[str, Any] = fields.JSONField(default=dict)
    # The last version handed out; bumped under a row lock so versions have no gaps.
    release_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    owner_id: int
    team_id: int | None

    class Meta:
        table = "apps"


# A user given permissions on one app. Ephemeral apps get theirs from the pipeline access when created.
# (Comments, not docstrings: tortoise writes docstrings into the SQL as table comments.)
class AppCollaborator(Model):
    id = fields.BigIntField(primary_key=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="collaborators", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="collaborations", on_delete=fields.CASCADE
    )
    permissions: list[str] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    app_id: int
    user_id: int

    class Meta:
        table = "app_collaborators"
        unique_together = (("app", "user"),)
        # Found by user in the statement that authenticates every request (access/preload.py): the unique pair leads
        # with the other column, so without this each request scans the table.
        indexes = (("user_id",),)
