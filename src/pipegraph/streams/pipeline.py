"""A pipeline's stream: news that one of its promotions, review apps, builds or deploys changed, for pages that show
the pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from pipegraph.streams.publish import Topic


class NewsKind(StrEnum):
    PROMOTION = "promotion"
    REVIEW_APP = "review_app"
    BUILD = "build"
    DEPLOY = "deploy"


@dataclass(frozen=True)
class PipelineNews:
    """Only what changed and its id: a subscriber reads the row as it then is, with the viewer's rights."""

    kind: NewsKind
    row_id: int

    def to_fields(self) -> dict[str, str]:
        if self.kind == NewsKind.PROMOTION:
            return {"promotion_id": str(self.row_id)}  # the shape promotions always had on this stream
        return {"kind": self.kind.value, "id": str(self.row_id)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> PipelineNews:
        if "promotion_id" in fields:
            return cls(NewsKind.PROMOTION, int(fields["promotion_id"]))
        return cls(NewsKind(fields["kind"]), int(fields["id"]))


def PromotionChanged(promotion_id: int) -> PipelineNews:
    return PipelineNews(NewsKind.PROMOTION, promotion_id)


PIPELINE_EVENTS: Topic[PipelineNews] = Topic("pipeline", "events", PipelineNews.from_fields)


async def announce(redis: Redis, pipeline_id: int | None, kind: NewsKind, row_id: int) -> None:
    """Tell pages showing the pipeline that a row of it changed (after the change committed); never fails."""
    if pipeline_id is not None:
        await PIPELINE_EVENTS.publish(redis, pipeline_id, PipelineNews(kind, row_id))
