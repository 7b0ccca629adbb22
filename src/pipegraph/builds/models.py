from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.releases.models import Release
from pipegraph.slugs.models import Slug


class BuildStatus(StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (BuildStatus.SUCCEEDED, BuildStatus.FAILED)


class Build(Model):
    """Source turned into a slug by buildpacks, then released. Worked by one arq job at a time (a lease)."""

    id = fields.BigIntField(primary_key=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="builds", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(BuildStatus, max_length=16, default=BuildStatus.PENDING)
    source_url = fields.TextField()
    source_checksum = fields.CharField(max_length=71, null=True)  # "SHA256:<hex>", verified before building
    source_version = fields.CharField(max_length=255, null=True)  # a commit, or whatever the client names it
    source_description = fields.TextField(null=True)  # the commit's subject line, when a push made the build
    # Requested buildpacks (empty: the app's, else the defaults), and those that actually ran.
    buildpacks: list[Any] = fields.JSONField(default=list)
    buildpacks_used: list[Any] = fields.JSONField(default=list)
    output = fields.TextField(default="")  # every line, kept once the build ends
    error_message = fields.TextField(null=True)
    slug: fields.ForeignKeyNullableRelation[Slug] = fields.ForeignKeyField(
        "pipegraph.Slug", related_name="builds", null=True, on_delete=fields.SET_NULL
    )
    release: fields.ForeignKeyNullableRelation[Release] = fields.ForeignKeyField(
        "pipegraph.Release", related_name="builds", null=True, on_delete=fields.SET_NULL
    )
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="builds", null=True, on_delete=fields.SET_NULL
    )
    attempts = fields.IntField(default=0)
    # A BUILDING build whose lease passed lost its worker: the reconciler retries it or marks it FAILED.
    lease_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    app_id: int
    slug_id: int | None
    release_id: int | None
    created_by_id: int | None

    class Meta:
        table = "builds"


class AppBuildpacks(Model):
    """An app's ordered buildpack list, as Heroku's `buildpacks:set` keeps it (no row: the defaults detect)."""

    id = fields.BigIntField(primary_key=True)
    app: fields.OneToOneRelation[App] = fields.OneToOneField(
        "pipegraph.App", related_name="buildpack_list", on_delete=fields.CASCADE
    )
    buildpacks: list[Any] = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    app_id: int

    class Meta:
        table = "app_buildpacks"
