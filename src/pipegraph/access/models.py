from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.pipelines.models import Pipeline
from pipegraph.teams.models import Team


class Permission(StrEnum):
    """Heroku's app permissions, each a capability of its own."""

    VIEW = "view"
    DEPLOY = "deploy"
    OPERATE = "operate"
    MANAGE = "manage"


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


# A manual grant on the ephemeral (review and CI) apps of a pipeline, applied to apps created afterwards only.
class PipelineAccessGrant(Model):
    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="access_grants", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="pipeline_grants", on_delete=fields.CASCADE
    )
    permissions: list[str] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    pipeline_id: int
    user_id: int

    class Meta:
        table = "pipeline_access_grants"
        unique_together = (("pipeline", "user"),)


# A record of each change of owner of a pipeline: Heroku keeps none to query.
class PipelineTransfer(Model):
    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="transfers", on_delete=fields.CASCADE
    )
    previous_owner_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    previous_owner_team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "pipegraph.Team", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    new_owner_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    new_owner_team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "pipegraph.Team", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    transferred_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    pipeline_id: int
    previous_owner_user_id: int | None
    previous_owner_team_id: int | None
    new_owner_user_id: int | None
    new_owner_team_id: int | None
    transferred_by_id: int | None

    class Meta:
        table = "pipeline_transfers"
