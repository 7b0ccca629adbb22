"""Source tarballs on disk, content-addressed like slugs: checked as they arrive, renamed into place, never changed."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from pipegraph.core.errors import ErrorCode
from pipegraph.slugs.store import receive_to_file
from pipegraph.sources.archive import validate_archive


class LocalSourceStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}.tar.gz"

    async def put(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> tuple[str, int]:
        """Store a source tarball whose every entry stays inside it; returns its SHA-256 hex and size."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=incoming, suffix=".part")
        tmp = Path(tmp_name)
        try:
            size, digest = await receive_to_file(
                fd, chunks, max_bytes=max_bytes, what="source", too_large=ErrorCode.SOURCE_TOO_LARGE
            )
            await asyncio.to_thread(validate_archive, tmp, what="source tarball", max_bytes=max_bytes)
            final = self.path_for(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return digest, size
        finally:
            tmp.unlink(missing_ok=True)  # noqa: ASYNC240 - a local unlink, gone already after os.replace
