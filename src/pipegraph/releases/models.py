from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.slugs.models import Slug


class ReleaseStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Release(Model):
    id = fields.BigIntField(primary_key=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="releases", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    status = fields.CharEnumField(ReleaseStatus, max_length=16)
    is_current = fields.BooleanField(default=False)
    slug: fields.ForeignKeyRelation[Slug] = fields.ForeignKeyField(
        "pipegraph.Slug", related_name="releases", on_delete=fields.RESTRICT
    )
    description = fields.CharField(max_length=500, default="")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="releases", null=True, on_delete=fields.SET_NULL
    )
    # Where a promoted or rolled-back release came from.
    source_release: fields.ForeignKeyNullableRelation[Release] = fields.ForeignKeyField(
        "pipegraph.Release", related_name="derived_releases", null=True, on_delete=fields.SET_NULL
    )
    error_message = fields.TextField(null=True)
    release_log = fields.TextField(default="")  # the release phase's output, kept after it ends
    # Runs of its release phase begun: a release whose job keeps crashing is failed past MAX_ATTEMPTS.
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    app_id: int
    slug_id: int
    created_by_id: int | None
    source_release_id: int | None

    class Meta:
        table = "releases"
        unique_together = (("app", "version"),)
        # The database, not only the code, keeps at most one current release per app: a partial unique index
        # created by raw SQL in migration 0001, since tortoise's SQLite editor cannot express partial indexes.
