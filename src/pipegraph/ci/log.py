"""A test node's output: each line published as it is printed, all of it saved when the node ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis

from pipegraph.ci.models import TestNode, TestRunStatus
from pipegraph.core.errors import NotFound
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.logs import QUIET_STREAM_MS, TEST_LOG, LogEnd, LogLine, SavedLog, follow_log


class TestLog:
    __test__ = False

    def __init__(self, redis: Redis, node_id: int) -> None:
        self.redis, self.node_id = redis, node_id
        self.lines: list[str] = []

    async def line(self, text: str) -> None:
        self.lines.append(text)
        await TEST_LOG.publish(self.redis, self.node_id, LogLine(text))

    async def end(self, status: TestRunStatus) -> None:
        await TEST_LOG.publish(self.redis, self.node_id, LogEnd(status.value))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


async def follow_test_log(hub: StreamHub, node_id: int, *, quiet_ms: int = QUIET_STREAM_MS) -> AsyncIterator[list[str]]:
    """The output so far, then the lines as they are printed, until the node ends: batch by batch (follow_log)."""

    async def saved() -> SavedLog:
        node = await TestNode.get_or_none(id=node_id)
        if node is None:
            raise NotFound("test run", node_id, field="id")
        return SavedLog.leased(terminal=node.status.terminal, lease_expires_at=node.lease_expires_at, text=node.output)

    async for lines in follow_log(hub, TEST_LOG, node_id, saved, quiet_ms=quiet_ms):
        yield lines
