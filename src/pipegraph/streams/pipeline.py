"""A pipeline's stream: news that one of its promotions started or completed, for pages that show the pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipegraph.streams.publish import Topic


@dataclass(frozen=True)
class PromotionChanged:
    """Only the promotion's id: a subscriber reads the promotion as it then is, with the viewer's rights."""

    promotion_id: int

    def to_fields(self) -> dict[str, str]:
        return {"promotion_id": str(self.promotion_id)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> PromotionChanged:
        return cls(promotion_id=int(fields["promotion_id"]))


PIPELINE_EVENTS: Topic[PromotionChanged] = Topic("pipeline", "events", PromotionChanged.from_fields)
