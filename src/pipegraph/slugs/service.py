"""Slugs: declared first, then their blob arrives by one signed HTTP PUT and is verified before it counts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

from pipegraph.apps.models import App
from pipegraph.apps.service import validate_stack
from pipegraph.core import signing
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.text import validate_text
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import SlugStore

CHECKSUM_PATTERN = re.compile(r"^SHA256:([0-9a-fA-F]{64})$")
PROCESS_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
UPLOAD_PURPOSE = "slug-upload"


def normalize_checksum(checksum: str) -> str:
    match = CHECKSUM_PATTERN.fullmatch(checksum.strip())
    if not match:
        raise DomainError(
            ErrorCode.INVALID_CHECKSUM,
            f"checksum {checksum!r} is invalid: expected SHA256: followed by 64 hex digits",
            field="checksum",
        )
    return f"SHA256:{match.group(1).lower()}"


def validate_process_types(process_types: Mapping[str, object]) -> dict[str, str]:
    if not isinstance(process_types, Mapping) or not process_types:
        raise DomainError(
            ErrorCode.INVALID_PROCESS_TYPES,
            'process types are required: an object of name to command, like {"web": "./bin/web"}',
            field="processTypes",
        )
    validated: dict[str, str] = {}
    for name, command in process_types.items():
        if not PROCESS_TYPE_PATTERN.fullmatch(name):
            raise DomainError(
                ErrorCode.INVALID_PROCESS_TYPES,
                f"process type name {name!r} is invalid",
                field="processTypes",
            )
        if not isinstance(command, str) or not command.strip():
            raise DomainError(
                ErrorCode.INVALID_PROCESS_TYPES,
                f"process type {name!r} needs a non-empty command string",
                field="processTypes",
            )
        validated[name] = validate_text(command, what=f"process type {name!r}", field="processTypes")
    return validated


async def create_slug(
    *,
    app: App,
    checksum: str,
    process_types: Mapping[str, object],
    stack: str | None,
    commit: str | None,
    commit_description: str | None,
) -> Slug:
    if commit is not None:
        validate_text(commit, what="commit", field="commit", max_length=64)
    if commit_description is not None:
        validate_text(commit_description, what="commit description", field="commitDescription")
    return await Slug.create(
        app=app,
        checksum=normalize_checksum(checksum),
        process_types=validate_process_types(process_types),
        stack=validate_stack(app.stack if stack is None else stack),
        commit=commit,
        commit_description=commit_description,
    )


def upload_url(*, public_url: str, secret_key: str, slug_id: int, ttl: int) -> str:
    """A URL that lets whoever holds it PUT this slug's blob once, until it expires: no token needed."""
    return f"{public_url}/slugs/{slug_id}/blob?{signing.signed_query(secret_key, UPLOAD_PURPOSE, slug_id, ttl)}"


def verify_upload_signature(*, secret_key: str, slug_id: int, expires: str, signature: str) -> bool:
    return signing.verify(secret_key, UPLOAD_PURPOSE, slug_id, expires=expires, signature_given=signature)


async def receive_blob(slug: Slug, chunks: AsyncIterator[bytes], *, store: SlugStore, max_bytes: int) -> Slug:
    if slug.uploaded:
        raise DomainError(ErrorCode.SLUG_ALREADY_UPLOADED, f"slug {slug.id} is already uploaded; slugs are immutable")
    size = await store.put(chunks, expected_digest=slug.digest, max_bytes=max_bytes)
    # Conditional update: of two racing uploads of the same bytes, one records it; both stored the same blob.
    await Slug.filter(id=slug.id, uploaded_at__isnull=True).update(size=size, uploaded_at=datetime.now(UTC))
    await slug.refresh_from_db()
    return slug
