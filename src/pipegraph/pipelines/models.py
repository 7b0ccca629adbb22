from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.teams.models import Team


class Stage(StrEnum):
    """Pipeline stages in delivery order (TEST is reserved for CI apps)."""

    TEST = "test"
    REVIEW = "review"
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


def default_auto_join_permissions() -> list[str]:
    """Heroku's defaults for team members on review and CI apps."""
    return ["view", "deploy", "operate"]


class Pipeline(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=30, unique=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="pipelines", on_delete=fields.RESTRICT
    )
    # Owned by `team` when set; `owner` is then the user who created or last held it.
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "pipegraph.Team", related_name="pipelines", null=True, on_delete=fields.RESTRICT
    )
    # Auto-join for ephemeral apps: team members get these permissions on review and CI apps created from now on.
    auto_join = fields.BooleanField(default=True)
    auto_join_permissions: list[str] = fields.JSONField(default=default_auto_join_permissions)
    # Set when its last app left: deleted then unless an app is added back (Heroku deletes empty pipelines).
    delete_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    owner_id: int
    team_id: int | None

    class Meta:
        table = "pipelines"


class PipelineCoupling(Model):
    """An app's place in a pipeline. One per app, held by a unique constraint on `app`."""

    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="couplings", on_delete=fields.CASCADE
    )
    app: fields.OneToOneRelation[App] = fields.OneToOneField(
        "pipegraph.App", related_name="coupling", on_delete=fields.CASCADE
    )
    stage = fields.CharEnumField(Stage, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    pipeline_id: int
    app_id: int

    class Meta:
        table = "pipeline_couplings"


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
        # Found by user in the statement that authenticates every request (access/preload.py): the unique pair leads
        # with the other column, so without this each request scans the table.
        indexes = (("user_id",),)


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


# Config vars every new review (or CI) app of the pipeline gets (Heroku's pipeline stage config vars).
class StageConfigVars(Model):
    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="stage_config_vars", on_delete=fields.CASCADE
    )
    stage = fields.CharEnumField(Stage, max_length=16)
    vars: dict[str, Any] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    pipeline_id: int

    class Meta:
        table = "pipeline_stage_config_vars"
        unique_together = (("pipeline", "stage"),)
