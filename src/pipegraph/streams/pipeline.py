"""A pipeline's stream: news that one of its promotions or test runs started, moved on or ended, for pages that show
the pipeline."""

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


@dataclass(frozen=True)
class TestRunChanged:
    """Only the test run's id, read afresh by each subscriber as above."""

    __test__ = False

    test_run_id: int

    def to_fields(self) -> dict[str, str]:
        return {"test_run_id": str(self.test_run_id)}


PipelineNews = PromotionChanged | TestRunChanged


def pipeline_news(fields: Mapping[str, str]) -> PipelineNews:
    if "test_run_id" in fields:
        return TestRunChanged(test_run_id=int(fields["test_run_id"]))
    return PromotionChanged(promotion_id=int(fields["promotion_id"]))


PIPELINE_EVENTS: Topic[PipelineNews] = Topic("pipeline", "events", pipeline_news)
