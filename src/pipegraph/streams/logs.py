"""Log streams: a process's output, line by line, then one end marker with how it ended.

A release phase's log is `RELEASE_LOG`; another log (a build's) is one more `Topic` of the same `LogEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipegraph.streams.publish import Topic


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
