from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.pipelines.models import Pipeline
from pipegraph.releases.models import Release
from pipegraph.slugs.models import Slug


class PromotionStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"


class TargetStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (TargetStatus.SUCCEEDED, TargetStatus.FAILED)


class TargetStep(StrEnum):
    QUEUED = "queued"
    COPYING_SLUG = "copying_slug"
    UPDATING_STACK = "updating_stack"
    RELEASE_PHASE = "release_phase"
    DONE = "done"


class Promotion(Model):
    """One promotion of a source release to one or more apps, COMPLETED once every target is terminal."""

    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="promotions", on_delete=fields.CASCADE
    )
    source_app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="promotions_out", on_delete=fields.CASCADE
    )
    source_release: fields.ForeignKeyRelation[Release] = fields.ForeignKeyField(
        "pipegraph.Release", related_name="promotions", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(PromotionStatus, max_length=16, default=PromotionStatus.PENDING)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="promotions", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)

    pipeline_id: int
    source_app_id: int
    source_release_id: int
    created_by_id: int | None

    class Meta:
        table = "promotions"


class PromotionTarget(Model):
    """One app a promotion goes to, worked by one job. `sequence` grows with every persisted change."""

    id = fields.BigIntField(primary_key=True)
    promotion: fields.ForeignKeyRelation[Promotion] = fields.ForeignKeyField(
        "pipegraph.Promotion", related_name="targets", on_delete=fields.CASCADE
    )
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="promotion_targets", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(TargetStatus, max_length=16, default=TargetStatus.PENDING)
    step = fields.CharEnumField(TargetStep, max_length=16, default=TargetStep.QUEUED)
    error_message = fields.TextField(null=True)
    # Set as soon as each exists, so a job that runs again resumes instead of copying or releasing twice.
    slug: fields.ForeignKeyNullableRelation[Slug] = fields.ForeignKeyField(
        "pipegraph.Slug", related_name="promotion_targets", null=True, on_delete=fields.SET_NULL
    )
    release: fields.ForeignKeyNullableRelation[Release] = fields.ForeignKeyField(
        "pipegraph.Release", related_name="promotion_targets", null=True, on_delete=fields.SET_NULL
    )
    sequence = fields.IntField(default=0)
    attempts = fields.IntField(default=0)
    # A RUNNING target whose lease has passed lost its worker: the reconciler hands it to another.
    lease_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    promotion_id: int
    app_id: int
    slug_id: int | None
    release_id: int | None

    class Meta:
        table = "promotion_targets"
        unique_together = (("promotion", "app"),)
