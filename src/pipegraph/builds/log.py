"""A build's output: each line published as it is printed, all of it saved when the build ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis

from pipegraph.builds.models import Build, BuildStatus
from pipegraph.core.errors import NotFound
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.logs import BUILD_LOG, QUIET_STREAM_MS, LogEnd, LogLine, SavedLog, follow_log


class BuildLog:
    """Lines of one attempt at a build: published to the build's stream and kept for the build's `output`."""

    def __init__(self, redis: Redis, build_id: int) -> None:
        self.redis, self.build_id = redis, build_id
        self.lines: list[str] = []

    async def line(self, text: str) -> None:
        self.lines.append(text)
        await BUILD_LOG.publish(self.redis, self.build_id, LogLine(text))

    async def end(self, status: BuildStatus) -> None:
        await BUILD_LOG.publish(self.redis, self.build_id, LogEnd(status.value))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


async def follow_build_log(
    hub: StreamHub, build_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncIterator[list[str]]:
    """The output so far, then the lines as they are printed, until the build ends: batch by batch (follow_log)."""

    async def saved() -> SavedLog:
        build = await Build.get_or_none(id=build_id)
        if build is None:
            raise NotFound("build", build_id, field="buildId")
        return SavedLog.leased(
            terminal=build.status.terminal, lease_expires_at=build.lease_expires_at, text=build.output
        )

    async for lines in follow_log(hub, BUILD_LOG, build_id, saved, quiet_ms=quiet_ms):
        yield lines
