"""Sources: a tarball declared first (`createSource`), then its bytes by one signed PUT, then named by a build."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core import signing
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.settings import Settings
from pipegraph.sources.models import Source
from pipegraph.sources.store import LocalSourceStore

UPLOAD_PURPOSE = "source-upload"
GET_PURPOSE = "source-get"
# Long enough for a build to start after createSource; Heroku's get_url lasts an hour too.
GET_URL_TTL = 3600
OWN_SOURCE_PATH = re.compile(r"^/sources/([0-9]{1,19})/blob$")


async def create_source(*, app: App, user: User | None) -> Source:
    return await Source.create(app=app, created_by_id=user.id if user else None)


def upload_url(settings: Settings, source: Source) -> str:
    query = signing.signed_query(settings.secret_key, UPLOAD_PURPOSE, source.id, settings.upload_url_ttl)
    return f"{settings.public_url}/sources/{source.id}/blob?{query}"


def get_url(settings: Settings, source: Source) -> str:
    """What a build names as its `sourceBlob.url`: a worker reads it from the shared store, not over HTTP."""
    query = signing.signed_query(settings.secret_key, GET_PURPOSE, source.id, GET_URL_TTL)
    return f"{settings.public_url}/sources/{source.id}/blob?{query}"


def verify_upload(settings: Settings, source_id: int, *, expires: str, signature: str) -> bool:
    return signing.verify(settings.secret_key, UPLOAD_PURPOSE, source_id, expires=expires, signature_given=signature)


def own_source_id(settings: Settings, url: str) -> int | None:
    """The source a getUrl of this pipegraph names (its signature, not its host, says so: replicas and workers may
    know the API under other names); None for any other URL."""
    parts = urlsplit(url)
    match = OWN_SOURCE_PATH.fullmatch(parts.path)
    query = parse_qs(parts.query)
    if match and signing.verify(
        settings.secret_key,
        GET_PURPOSE,
        int(match.group(1)),
        expires=query.get("expires", [""])[0],
        signature_given=query.get("signature", [""])[0],
    ):
        return int(match.group(1))
    if url.startswith(settings.public_url + "/sources/"):
        raise DomainError(
            ErrorCode.INVALID_SOURCE,
            "the source URL is invalid or expired: ask createSource for a new one",
            field="sourceBlob.url",
        )
    return None


async def receive_blob(
    source: Source, chunks: AsyncIterator[bytes], *, store: LocalSourceStore, max_bytes: int
) -> Source:
    if source.uploaded_at is not None:
        raise DomainError(ErrorCode.SOURCE_ALREADY_UPLOADED, f"source {source.id} is already uploaded")
    digest, size = await store.put(chunks, max_bytes=max_bytes)
    await Source.filter(id=source.id, uploaded_at__isnull=True).update(
        checksum=f"SHA256:{digest}", size=size, uploaded_at=datetime.now(UTC)
    )
    await source.refresh_from_db()
    return source


async def record_source(*, app: App, user: User | None, digest: str, size: int) -> Source:
    """A source whose bytes are already in the store (a pushed commit's archive, put there by the push)."""
    return await Source.create(
        app=app,
        created_by_id=user.id if user else None,
        checksum=f"SHA256:{digest}",
        size=size,
        uploaded_at=datetime.now(UTC),
    )
