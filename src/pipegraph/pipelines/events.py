"""Following a pipeline: its unfinished promotions and test runs first, then news of each as it starts, moves on or
ends, for as long as it is followed."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from pipegraph.ci.models import UNFINISHED, TestRun
from pipegraph.promotions.models import Promotion, PromotionStatus
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.pipeline import PIPELINE_EVENTS, PipelineNews, PromotionChanged, TestRunChanged

QUIET_STREAM_MS = 5_000


async def follow_pipeline(
    hub: StreamHub, pipeline_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncGenerator[PipelineNews, None]:
    """News may come twice for one change (unfinished at the start and news in the stream): callers drop what they
    already showed. Publishing never fails a job, so a page that must never miss an end also reads the list again
    now and then (the dashboard does)."""
    async with hub.follow(PIPELINE_EVENTS, pipeline_id) as follower:  # before the read: nothing falls in between
        pending = Promotion.filter(pipeline_id=pipeline_id, status=PromotionStatus.PENDING).order_by("id")
        for promotion_id in await pending.values_list("id", flat=True):
            yield PromotionChanged(int(promotion_id))  # type: ignore[call-overload]
        running = TestRun.filter(pipeline_id=pipeline_id, status__in=UNFINISHED).order_by("id")
        for run_id in await running.values_list("id", flat=True):
            yield TestRunChanged(int(run_id))  # type: ignore[call-overload]
        while True:
            for event in await follower.read(block_ms=quiet_ms):
                yield event
