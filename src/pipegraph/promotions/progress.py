"""Following a promotion: the database's state first, then the stream's news, until the promotion completes.

The stream position is taken before the database is read, so a change written between the two arrives from the
stream; the per-target `sequence` drops what the snapshot already showed. When the stream goes quiet (or Redis lost
it) the database is read again, so a subscriber can be late or slow, never wrong.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from redis.asyncio import Redis

from pipegraph.core.errors import NotFound
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.pipeline import PIPELINE_EVENTS, NewsKind, PipelineNews, PromotionChanged
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted

QUIET_STREAM_MS = 5_000


class _Latest:
    """Which change of each target the subscriber already has."""

    def __init__(self) -> None:
        self.sequences: dict[int, int] = {}

    def is_news(self, target: PromotionTarget) -> bool:
        if self.sequences.get(target.id, -1) >= target.sequence:
            return False
        self.sequences[target.id] = target.sequence
        return True


async def _snapshot(promotion_id: int) -> tuple[Promotion, list[PromotionTarget]]:
    promotion = await Promotion.get_or_none(id=promotion_id)
    if promotion is None:
        raise NotFound("promotion", promotion_id, field="id")
    targets = await PromotionTarget.filter(promotion_id=promotion_id).order_by("id")
    return promotion, targets


async def follow_promotion(
    hub: StreamHub, promotion_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncIterator[PromotionTarget]:
    async with hub.follow(PROMOTION_EVENTS, promotion_id) as follower:
        latest = _Latest()
        promotion, targets = await _snapshot(promotion_id)
        for target in targets:
            if latest.is_news(target):
                yield target
        while promotion.status != PromotionStatus.COMPLETED:
            events = await follower.read(block_ms=quiet_ms)
            completed = False
            for event in events:
                if isinstance(event, PromotionCompleted):
                    completed = True
                    continue
                target = event.target(promotion_id)
                if latest.is_news(target):
                    yield target
            if completed or not events:
                # Events of two targets may reach the stream out of commit order, and a quiet stream may be a lost
                # one: the database settles both.
                promotion, targets = await _snapshot(promotion_id)
                for target in targets:
                    if latest.is_news(target):
                        yield target


async def announce_to_pipeline(redis: Redis, promotion: Promotion) -> None:
    """Tell pages showing the promotion's pipeline that it started or completed (after the change committed)."""
    await PIPELINE_EVENTS.publish(redis, promotion.pipeline_id, PromotionChanged(promotion.id))


async def follow_pipeline(
    hub: StreamHub, pipeline_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncGenerator[PipelineNews, None]:
    """The pipeline's unfinished promotions, then each piece of news (a promotion that starts or completes, a review
    app, build or deploy that changed), for as long as it is followed. News may come twice for one change (pending at
    the start and news in the stream): callers drop what they already showed.

    Publishing never fails a job, so a page that must never miss a completion also reads the list again now and then
    (the dashboard does).
    """
    async with hub.follow(PIPELINE_EVENTS, pipeline_id) as follower:  # before the read: nothing falls in between
        pending = Promotion.filter(pipeline_id=pipeline_id, status=PromotionStatus.PENDING).order_by("id")
        ids: list[int] = await pending.values_list("id", flat=True)  # type: ignore[assignment]
        for promotion_id in ids:
            yield PipelineNews(NewsKind.PROMOTION, promotion_id)
        while True:
            for event in await follower.read(block_ms=quiet_ms):
                yield event
