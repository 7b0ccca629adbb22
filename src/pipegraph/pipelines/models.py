from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App


class Stage(StrEnum):
    """Pipeline stages in delivery order (TEST is reserved for CI apps)."""

    TEST = "test"
    REVIEW = "review"
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class Pipeline(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=30, unique=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="pipelines", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    owner_id: int

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
