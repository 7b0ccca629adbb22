"""A promotion's stream: each persisted change of a target, then one end marker once the promotion completed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pipegraph.promotions.models import PromotionTarget, TargetStatus, TargetStep
from pipegraph.streams.publish import Topic


@dataclass(slots=True)
class TargetState:
    """A promotion target's columns that subscribers read, as its latest event says them (PromotionTarget's names)."""

    id: int
    promotion_id: int
    app_id: int
    status: TargetStatus
    step: TargetStep
    error_message: str | None
    release_id: int | None
    sequence: int
    updated_at: datetime | None


@dataclass(frozen=True)
class TargetEvent:
    """A target as the worker just saved it: enough to rebuild it without a database read per subscriber."""

    target_id: int
    app_id: int
    status: TargetStatus
    step: TargetStep
    error_message: str | None
    release_id: int | None
    sequence: int
    updated_at: datetime | None

    @classmethod
    def of(cls, target: PromotionTarget) -> TargetEvent:
        return cls(
            target_id=target.id,
            app_id=target.app_id,
            status=target.status,
            step=target.step,
            error_message=target.error_message,
            release_id=target.release_id,
            sequence=target.sequence,
            updated_at=target.updated_at,
        )

    def target(self, promotion_id: int) -> PromotionTarget:
        return PromotionTarget(
            id=self.target_id,
            promotion_id=promotion_id,
            app_id=self.app_id,
            status=self.status,
            step=self.step,
            error_message=self.error_message,
            release_id=self.release_id,
            sequence=self.sequence,
            updated_at=self.updated_at,
        )

    def state(self, promotion_id: int) -> TargetState:
        """The target as this event says it is now, for a subscriber: what `target` gives, without the model (building
        250 models was a sixth of what a 50-target burst cost the API)."""
        return TargetState(
            self.target_id,
            promotion_id,
            self.app_id,
            self.status,
            self.step,
            self.error_message,
            self.release_id,
            self.sequence,
            self.updated_at,
        )

    def to_fields(self) -> dict[str, str]:
        return {
            "target_id": str(self.target_id),
            "app_id": str(self.app_id),
            "status": self.status.value,
            "step": self.step.value,
            "error_message": self.error_message or "",
            "release_id": "" if self.release_id is None else str(self.release_id),
            "sequence": str(self.sequence),
            "updated_at": self.updated_at.isoformat() if self.updated_at else "",
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TargetEvent:
        return cls(
            target_id=int(fields["target_id"]),
            app_id=int(fields["app_id"]),
            status=TargetStatus(fields["status"]),
            step=TargetStep(fields["step"]),
            error_message=fields["error_message"] or None,
            release_id=int(fields["release_id"]) if fields["release_id"] else None,
            sequence=int(fields["sequence"]),
            updated_at=datetime.fromisoformat(fields["updated_at"]) if fields.get("updated_at") else None,
        )


@dataclass(frozen=True)
class PromotionCompleted:
    """Its own entry, after the last target's: that one reaches subscribers without waiting for the completion
    check."""

    def to_fields(self) -> dict[str, str]:
        return {"completed": "1"}


PromotionEvent = TargetEvent | PromotionCompleted


def promotion_event(fields: Mapping[str, str]) -> PromotionEvent:
    return PromotionCompleted() if fields.get("completed") == "1" else TargetEvent.from_fields(fields)


PROMOTION_EVENTS: Topic[PromotionEvent] = Topic("promotion", "events", promotion_event)
