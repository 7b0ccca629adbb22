from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class User(Model):
    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class ApiToken(Model):
    """Only the SHA-256 of a token is stored: tokens are random and long, so a slow hash would add nothing."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="tokens", on_delete=fields.CASCADE
    )
    description = fields.CharField(max_length=200, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "api_tokens"


class BrowserSessionKind(StrEnum):
    LOGIN = "login"  # the one-time link `pipegraph dev` prints; exchanged once for a SESSION
    SESSION = "session"  # what the dashboard's cookie names


class BrowserSession(Model):
    """A sign-in of a browser, stored as the SHA-256 of its secret like an API token, ended on the server at sign-out.

    A LOGIN row is the one-time link: used once (`ended_at` set), it becomes worthless. A SESSION row is the cookie.
    Neither is an API token: a program keeps using those, and neither kind is listed among them.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="browser_sessions", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(BrowserSessionKind, max_length=10)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "browser_sessions"


class CliLogin(Model):
    """`pipegraph login` in a browser: the CLI starts one, a signed-in dashboard user confirms it, the CLI collects a
    new API token of theirs.

    Two secrets, only their SHA-256 stored: the code, in the URL the CLI opens (the page names it to the server), and
    the CLI's own secret, which never leaves the CLI and alone collects the token. Each row is spent once: confirmed or
    refused once, its token handed out once (`collected_at`), and worthless once `expires_at` passed.
    """

    id = fields.BigIntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    secret_hash = fields.CharField(max_length=64, unique=True)
    host = fields.CharField(max_length=100, default="")  # what the CLI says its machine is called: shown, not trusted
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="cli_logins", on_delete=fields.CASCADE, null=True
    )
    confirmed_at = fields.DatetimeField(null=True)
    refused_at = fields.DatetimeField(null=True)
    collected_at = fields.DatetimeField(null=True)

    user_id: int | None

    class Meta:
        table = "cli_logins"
