"""Following a release phase's output: the saved log once it ended, else its stream until the end marker."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipegraph.core.errors import NotFound
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.logs import QUIET_STREAM_MS, RELEASE_LOG, SavedLog, follow_log


async def follow_release_log(
    hub: StreamHub, release_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncIterator[list[str]]:
    async def saved() -> SavedLog:
        release = await Release.get_or_none(id=release_id)
        if release is None:
            raise NotFound("release", release_id, field="releaseId")
        return SavedLog(ended=release.status != ReleaseStatus.PENDING, text=release.release_log)

    async for lines in follow_log(hub, RELEASE_LOG, release_id, saved, quiet_ms=quiet_ms):
        yield lines
