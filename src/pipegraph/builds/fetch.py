"""Getting a build's source tarball onto the worker's disk: from the shared source store, or over http(s)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx

from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.settings import Settings
from pipegraph.sources.models import Source
from pipegraph.sources.service import own_source_id
from pipegraph.sources.store import LocalSourceStore


def _error(message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_SOURCE, message, field="sourceBlob.url")


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as blob:
        for chunk in iter(lambda: blob.read(1024 * 1024), b""):
            hasher.update(chunk)
    return f"SHA256:{hasher.hexdigest()}"


async def fetch_source(
    *, settings: Settings, store: LocalSourceStore, url: str, checksum: str | None, into: Path
) -> Path:
    """The tarball's path, its checksum verified when the build declared one; DomainError naming what failed."""
    source_id = own_source_id(settings, url)
    if source_id is not None:
        source = await Source.get_or_none(id=source_id)
        if source is None or source.digest is None:
            raise _error(f"source {source_id} has no uploaded tarball")
        path = store.path_for(source.digest)
        if not path.exists():
            raise _error(f"source {source_id}'s tarball is missing from the source store")
    else:
        path = into / "source.tar.gz"
        await download(
            url,
            path,
            max_bytes=settings.source_max_bytes,
            time_limit=settings.fetch_timeout,
            what=f"source {url}",
            field="sourceBlob.url",
        )
    if checksum is not None:
        actual = await asyncio.to_thread(_sha256, path)
        if actual != checksum:
            raise DomainError(
                ErrorCode.CHECKSUM_MISMATCH,
                f"source checksum does not match: declared {checksum}, fetched bytes are {actual}",
                field="sourceBlob.checksum",
            )
    return path


async def download(url: str, path: Path, *, max_bytes: int, time_limit: float, what: str, field: str) -> None:
    """GET `url` into `path`, refusing more than `max_bytes` or a slow server; DomainError saying which."""
    size = 0
    try:
        async with (
            httpx.AsyncClient(timeout=time_limit, follow_redirects=True) as http,
            http.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise DomainError(
                    ErrorCode.INVALID_SOURCE, f"{what} could not be fetched: HTTP {response.status_code}", field=field
                )
            with path.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise DomainError(
                            ErrorCode.SOURCE_TOO_LARGE,
                            f"{what} is larger than the limit of {max_bytes} bytes",
                            field=field,
                        )
                    out.write(chunk)
    except httpx.HTTPError as error:
        raise DomainError(ErrorCode.INVALID_SOURCE, f"{what} could not be fetched: {error}", field=field) from None
