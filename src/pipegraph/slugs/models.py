from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from pipegraph.apps.models import App


class Slug(Model):
    """An app's record of an immutable blob. Promotion gives the target its own record over the same blob."""

    id = fields.BigIntField(primary_key=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="slugs", on_delete=fields.CASCADE
    )
    checksum = fields.CharField(max_length=71)  # "SHA256:" + 64 hex digits
    size = fields.BigIntField(null=True)  # set once the blob is uploaded and verified
    stack = fields.CharField(max_length=40)
    process_types: dict[str, Any] = fields.JSONField(default=dict)
    commit = fields.CharField(max_length=64, null=True)
    commit_description = fields.TextField(null=True)
    uploaded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    app_id: int

    class Meta:
        table = "slugs"

    @property
    def digest(self) -> str:
        return self.checksum.removeprefix("SHA256:")

    @property
    def uploaded(self) -> bool:
        return self.uploaded_at is not None
