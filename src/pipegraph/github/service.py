"""Connecting a pipeline to a GitHub repository, and looking a pipeline's repository up (a seam CI uses too)."""

from __future__ import annotations

import re
import secrets

from tortoise.exceptions import IntegrityError

from pipegraph.accounts.models import User
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.github.models import RepositoryConnection
from pipegraph.pipelines.models import Pipeline

WEBHOOK_PATH = "/webhooks/github"
_FULL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def normalize_full_name(full_name: str, *, field: str = "repository") -> str:
    """ "owner/name" as GitHub spells it, lowercased: GitHub's names are case-insensitive."""
    value = full_name.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if not _FULL_NAME.fullmatch(value) or value.endswith("/.") or value.endswith("/.."):
        raise DomainError(
            ErrorCode.INVALID_REPOSITORY,
            f"repository {full_name!r} must be of the form owner/name",
            field=field,
        )
    return value.lower()


async def connect_repository(
    pipeline: Pipeline, full_name: str, *, user: User | None
) -> tuple[RepositoryConnection, str]:
    """Connect (or connect again, with a new secret) `pipeline` to `full_name`; the secret is returned this once."""
    name = normalize_full_name(full_name)
    secret = secrets.token_hex(32)
    try:
        connection, _ = await RepositoryConnection.update_or_create(
            defaults={"full_name": name, "webhook_secret": secret, "created_by_id": user.id if user else None},
            pipeline_id=pipeline.id,
        )
    except IntegrityError:
        raise DomainError(
            ErrorCode.INVALID, f"pipeline {pipeline.name} was just connected: try again", field="pipeline"
        ) from None
    return connection, secret


async def disconnect_repository(pipeline: Pipeline) -> None:
    if not await RepositoryConnection.filter(pipeline_id=pipeline.id).delete():
        raise DomainError(
            ErrorCode.NOT_CONNECTED, f"pipeline {pipeline.name} is not connected to a repository", field="pipeline"
        )


async def connection_of(pipeline_id: int) -> RepositoryConnection | None:
    """The pipeline's connected repository, if any."""
    return await RepositoryConnection.get_or_none(pipeline_id=pipeline_id)


async def require_connection(pipeline: Pipeline, *, field: str = "pipeline") -> RepositoryConnection:
    connection = await connection_of(pipeline.id)
    if connection is None:
        raise DomainError(
            ErrorCode.NOT_CONNECTED,
            f"pipeline {pipeline.name} is not connected to a GitHub repository: connectRepository first",
            field=field,
        )
    return connection


async def connections_for(full_name: str) -> list[RepositoryConnection]:
    """Every pipeline connection to `full_name` (one repository may feed several pipelines)."""
    return await RepositoryConnection.filter(full_name=full_name.lower()).order_by("id")
