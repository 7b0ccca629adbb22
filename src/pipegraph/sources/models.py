from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App


class Source(Model):
    """A source tarball uploaded by one PUT (Heroku's `/sources`), or archived from a pushed commit."""

    id = fields.BigIntField(primary_key=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="sources", on_delete=fields.CASCADE
    )
    checksum = fields.CharField(max_length=71, null=True)  # of the uploaded bytes, once they arrived
    size = fields.BigIntField(null=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="sources", null=True, on_delete=fields.SET_NULL
    )
    uploaded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    app_id: int

    class Meta:
        table = "sources"

    @property
    def digest(self) -> str | None:
        return self.checksum.removeprefix("SHA256:") if self.checksum else None
