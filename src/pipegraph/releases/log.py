"""Following a release phase's output: the saved log once it ended, else its stream until the end marker."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipegraph.core.errors import NotFound
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.logs import RELEASE_LOG, LogEnd

QUIET_STREAM_MS = 5_000


async def _saved_log(release_id: int) -> Release:
    release = await Release.get_or_none(id=release_id)
    if release is None:
        raise NotFound("release", release_id, field="releaseId")
    return release


async def follow_release_log(hub: StreamHub, release_id: int, *, quiet_ms: int = QUIET_STREAM_MS) -> AsyncIterator[str]:
    release = await _saved_log(release_id)
    if release.status != ReleaseStatus.PENDING:
        for line in release.release_log.splitlines():
            yield line
        return
    # The whole stream: it holds only this release's lines.
    async with hub.follow(RELEASE_LOG, release_id, from_start=True) as follower:
        sent = 0
        while True:
            events = await follower.read(block_ms=quiet_ms)
            for event in events:
                if isinstance(event, LogEnd):
                    return
                sent += 1
                yield event.text
            if events:
                continue
            release = await _saved_log(release_id)
            if release.status != ReleaseStatus.PENDING:
                # The stream went quiet and the release ended: it was lost; the saved log has the rest.
                for line in release.release_log.splitlines()[sent:]:
                    yield line
                return
