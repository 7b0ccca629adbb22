"""A promotion's stream: its targets' persisted changes, then one end marker once the promotion completed.

An entry carries the changes of one or more targets (`TargetChanges`): what the per-target job just saved, or a
batch's whole burst (promotions/batch.py), 250 changes for 50 targets, as one JSON array. A burst as one entry is one
XADD for the worker and one value to parse for the API; as 250 entries of eight fields each, packing, reading and
converting them took about two thirds of the time from a burst's write to its last frame sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pipegraph.promotions.models import PromotionTarget, TargetStatus, TargetStep
from pipegraph.streams.publish import Topic


@dataclass(slots=True)
class TargetState:
    """A promotion target's columns that subscribers read (PromotionTarget's names), as the worker just saved them:
    enough to show the target without a database read per subscriber, or a model per event.

    Never changed once made: every follower of the stream shares it. Not frozen, which would make it five times
    slower to build, 250 times per burst.
    """

    id: int
    promotion_id: int
    app_id: int
    status: TargetStatus
    step: TargetStep
    error_message: str | None
    release_id: int | None
    sequence: int
    updated_at: datetime | None

    @classmethod
    def of(cls, target: PromotionTarget) -> TargetState:
        return cls(
            target.id,
            target.promotion_id,
            target.app_id,
            target.status,
            target.step,
            target.error_message,
            target.release_id,
            target.sequence,
            target.updated_at,
        )

    def row(self) -> tuple[Any, ...]:
        """Its columns but the promotion's, which the entry says once."""
        return (
            self.id,
            self.app_id,
            self.status,
            self.step,
            self.error_message,
            self.release_id,
            self.sequence,
            self.updated_at,
        )

    @classmethod
    def from_row(cls, promotion_id: int, row: list[Any], times: dict[str, datetime]) -> TargetState:
        target_id, app_id, status, step, error_message, release_id, sequence, updated_at = row
        return cls(
            target_id,
            promotion_id,
            app_id,
            _STATUSES[status],
            _STEPS[step],
            error_message,
            release_id,
            sequence,
            _time(updated_at, times),
        )


_STATUSES = {status.value: status for status in TargetStatus}
_STEPS = {step.value: step for step in TargetStep}


def _time(text: str | None, times: dict[str, datetime]) -> datetime | None:
    """The time `text` says, parsed once per entry (`times`: those parsed so far): a burst's targets were saved at one
    time, and one object for it lets the event's plan write it once too (api/event_plans.py)."""
    if not text:
        return None
    time = times.get(text)
    if time is None:
        time = times[text] = datetime.fromisoformat(text)
    return time


@dataclass(frozen=True)
class TargetChanges:
    """Targets' changes written together, in order: one stream entry."""

    promotion_id: int
    targets: tuple[TargetState, ...]

    def to_fields(self) -> dict[str, str]:
        rows = orjson.dumps([target.row() for target in self.targets])  # enums as their values, datetimes ISO 8601
        return {"promotion_id": str(self.promotion_id), "targets": rows.decode()}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TargetChanges:
        promotion_id = int(fields["promotion_id"])
        rows = orjson.loads(fields["targets"])
        times: dict[str, datetime] = {}
        return cls(promotion_id, tuple(TargetState.from_row(promotion_id, row, times) for row in rows))


@dataclass(frozen=True)
class PromotionCompleted:
    """Its own entry, after the last target's: that one reaches subscribers without waiting for the completion
    check."""

    def to_fields(self) -> dict[str, str]:
        return {"completed": "1"}


PromotionEvent = TargetChanges | PromotionCompleted


def promotion_event(fields: Mapping[str, str]) -> PromotionEvent:
    return PromotionCompleted() if fields.get("completed") == "1" else TargetChanges.from_fields(fields)


PROMOTION_EVENTS: Topic[PromotionEvent] = Topic("promotion", "events", promotion_event)
