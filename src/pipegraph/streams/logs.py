"""Log streams: a process's output, line by line, then one end marker with how it ended.

A release phase's log is `RELEASE_LOG`; another log (a build's) is one more `Topic` of the same `LogEvent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipegraph.streams.publish import Topic

if TYPE_CHECKING:
    from pipegraph.streams.hub import StreamHub

QUIET_STREAM_MS = 5_000
# A saved log of thousands of lines goes out in batches of this many: each batch is written to a socket at once.
LOG_BATCH_LINES = 500


@dataclass(frozen=True)
class LogLine:
    text: str

    def to_fields(self) -> dict[str, str]:
        return {"line": self.text}


@dataclass(frozen=True)
class LogEnd:
    status: str  # the row's terminal status, as stored

    def to_fields(self) -> dict[str, str]:
        return {"end": self.status}


LogEvent = LogLine | LogEnd


def log_event(fields: Mapping[str, str]) -> LogEvent:
    return LogEnd(fields["end"]) if "end" in fields else LogLine(fields.get("line", ""))


RELEASE_LOG: Topic[LogEvent] = Topic("release", "log", log_event)
BUILD_LOG: Topic[LogEvent] = Topic("build", "log", log_event)
TEST_LOG: Topic[LogEvent] = Topic("test-node", "log", log_event)


@dataclass(frozen=True)
class SavedLog:
    """What the database says of a log's row: whether it ended, and its lines kept so far."""

    ended: bool
    text: str

    @classmethod
    def leased(cls, *, terminal: bool, lease_expires_at: datetime | None, text: str) -> SavedLog:
        """A row a worker runs under a lease has ended, for its log, only once its output is kept: a cancel makes
        the row terminal at once, while its worker still holds the lease and has yet to save what it printed. A
        lease that ran out belongs to a worker that died, and nobody will save more."""
        working = lease_expires_at is not None and lease_expires_at > datetime.now(UTC)
        return cls(ended=terminal and not working, text=text)


async def follow_log(
    hub: StreamHub,
    topic: Topic[LogEvent],
    row_id: int,
    saved: Callable[[], Awaitable[SavedLog]],
    *,
    quiet_ms: int = QUIET_STREAM_MS,
) -> AsyncIterator[list[str]]:
    """The saved lines once the row ended; else its whole stream (it holds only this row's lines) until the end
    marker. A quiet stream whose row has ended was lost (a Redis restart): the saved lines give the rest.

    Batch by batch (never an empty one): what one read of the stream delivered, or the saved lines in batches of at
    most LOG_BATCH_LINES, so that a subscriber decides once per batch whether its viewer still sees them."""
    log = await saved()
    if log.ended:
        for batch in _batches(log.text.splitlines()):
            yield batch
        return
    async with hub.follow(topic, row_id, from_start=True) as follower:
        sent = 0
        while True:
            events = await follower.read(block_ms=quiet_ms)
            lines: list[str] = []
            for event in events:
                if isinstance(event, LogEnd):
                    break
                lines.append(event.text)
            for batch in _batches(lines):
                yield batch
            sent += len(lines)
            if len(lines) < len(events):
                return  # the end marker
            if events:
                continue
            log = await saved()
            if log.ended:
                for batch in _batches(log.text.splitlines()[sent:]):
                    yield batch
                return


def _batches(lines: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(lines), LOG_BATCH_LINES):
        yield lines[start : start + LOG_BATCH_LINES]
