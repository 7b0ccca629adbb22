"""Following a release phase's output: the saved log once it ended, else its stream until the end marker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pipegraph.core.errors import NotFound
from pipegraph.events import read_after, release_log_stream
from pipegraph.releases.models import Release, ReleaseStatus

QUIET_STREAM_MS = 5_000


async def _saved_log(release_id: int) -> Release:
    release = await Release.get_or_none(id=release_id)
    if release is None:
        raise NotFound("release", release_id, field="releaseId")
    return release


async def follow_release_log(redis: Any, release_id: int, *, quiet_ms: int = QUIET_STREAM_MS) -> AsyncIterator[str]:
    release = await _saved_log(release_id)
    if release.status == ReleaseStatus.PENDING:
        sent = 0
        position = "0-0"  # the whole stream: it holds only this release's lines
        while True:
            entries = await read_after(redis, release_log_stream(release_id), position, block_ms=quiet_ms)
            for entry_id, fields in entries:
                position = entry_id
                if "end" in fields:
                    return
                sent += 1
                yield fields.get("line", "")
            if entries:
                continue
            release = await _saved_log(release_id)
            if release.status != ReleaseStatus.PENDING:
                # The stream went quiet and the release ended: it was lost; the saved log has the rest.
                for line in release.release_log.splitlines()[sent:]:
                    yield line
                return
    for line in release.release_log.splitlines():
        yield line
