"""Following a promotion: the database's state first, then the stream's news, until the promotion completes.

The stream position is taken before the database is read, so a change written between the two arrives from the
stream; the per-target `sequence` drops what the snapshot already showed. When the stream goes quiet (or Redis lost
it) the database is read again, so a subscriber can be late or slow, never wrong.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis

from pipegraph.api.burst_share import BurstShare
from pipegraph.ci.models import UNFINISHED, TestRun
from pipegraph.core.errors import NotFound
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.pipeline import PIPELINE_EVENTS, NewsKind, PipelineNews, PromotionChanged
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted, TargetChanges, TargetState

QUIET_STREAM_MS = 5_000


# A target's change as the subscriber gets it: the row read (a snapshot) or the stream's state.
Change = TypeVar("Change", PromotionTarget, TargetState)


class _Latest:
    """Which change of each target the subscriber already has."""

    def __init__(self) -> None:
        self.sequences: dict[int, int] = {}

    def news(self, targets: Iterable[Change]) -> list[Change]:
        """The changes among `targets` the subscriber does not have yet, in order, now noted as had: one it has, or an
        older one, is left out. One loop for a whole batch, which every socket runs on each burst's 250 changes."""
        sequences = self.sequences
        fresh = []
        for target in targets:
            if sequences.get(target.id, -1) < target.sequence:
                sequences[target.id] = target.sequence
                fresh.append(target)
        return fresh


async def _snapshot(promotion_id: int) -> tuple[Promotion, list[PromotionTarget]]:
    promotion = await Promotion.get_or_none(id=promotion_id)
    if promotion is None:
        raise NotFound("promotion", promotion_id, field="id")
    targets = await PromotionTarget.filter(promotion_id=promotion_id).order_by("id")
    return promotion, targets


# The database's state once a promotion's end arrived, read once for all its followers in the process (the rows are
# only read, never changed): each follower read the promotion and its targets itself, a thousand followers a
# thousand times, while some of them were still sending the burst before it.
_ends: BurstShare[tuple[Promotion, list[PromotionTarget]]] = BurstShare()


async def _settling_snapshot(promotion_id: int, shared_by: object | None) -> tuple[Promotion, list[PromotionTarget]]:
    """The snapshot that settles what the stream said. Once it said the promotion completed, it is shared by the
    followers of that delivery (`shared_by`, the same for all of them): nothing changes a completed promotion, so a
    read made for another follower a moment before is as current as one's own. Otherwise (None: a quiet stream, or
    an end this follower read on its own) it is read for this follower alone."""
    return await _ends.for_burst(shared_by, promotion_id, lambda: _snapshot(promotion_id))


@dataclass(frozen=True)
class Changes:
    """Targets' changes that came together: the snapshot, or one delivery of the stream."""

    targets: Sequence[PromotionTarget | TargetState]
    # The stream reader's delivery they came in (the same for every follower of the stream: what they may share for
    # it), or None when read by this follower alone (the database, a catch-up on joining).
    delivery: object | None = None


async def follow_promotion(
    hub: StreamHub, promotion_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncIterator[Changes]:
    """Each target's current state, then its changes, batch by batch (never an empty one), in order."""
    async with hub.follow(PROMOTION_EVENTS, promotion_id) as follower:
        latest = _Latest()
        promotion, targets = await _snapshot(promotion_id)
        news = latest.news(targets)
        if news:
            yield Changes(news)
        while promotion.status != PromotionStatus.COMPLETED:
            events = await follower.read(block_ms=quiet_ms)
            completed = any(isinstance(event, PromotionCompleted) for event in events)
            changed: list[TargetState] = []
            for event in events:
                if isinstance(event, TargetChanges):
                    changed += latest.news(event.targets)
            if changed:
                yield Changes(changed, follower.delivery)
            if completed or not events:
                # Events of two targets may reach the stream out of commit order, and a quiet stream may be a lost
                # one: the database settles both.
                shared_by = follower.delivery if completed else None  # a quiet stream's read is its own
                promotion, targets = await _settling_snapshot(promotion_id, shared_by)
                news = latest.news(targets)
                if news:
                    yield Changes(news)


async def announce_to_pipeline(redis: Redis, promotion: Promotion) -> None:
    """Tell pages showing the promotion's pipeline that it started or completed (after the change committed)."""
    await PIPELINE_EVENTS.publish(redis, promotion.pipeline_id, PromotionChanged(promotion.id))


async def follow_pipeline(
    hub: StreamHub, pipeline_id: int, *, quiet_ms: int = QUIET_STREAM_MS
) -> AsyncGenerator[tuple[list[PipelineNews], object | None], None]:
    """The pipeline's unfinished promotions and test runs, then each piece of news (a promotion that starts or
    completes, a review app, build, deploy or test run that changed), for as long as it is followed: batch by batch,
    each with the stream reader's delivery it came in (None for a read of this follower's own; see Changes). News may
    come twice for one change (unfinished at the start and news in the stream): callers drop what they already showed.

    Publishing never fails a job, so a page that must never miss a completion also reads the list again now and then
    (the dashboard does).
    """
    async with hub.follow(PIPELINE_EVENTS, pipeline_id) as follower:  # before the read: nothing falls in between
        pending = Promotion.filter(pipeline_id=pipeline_id, status=PromotionStatus.PENDING).order_by("id")
        ids: list[int] = await pending.values_list("id", flat=True)  # type: ignore[assignment]
        unfinished = [PipelineNews(NewsKind.PROMOTION, promotion_id) for promotion_id in ids]
        running = TestRun.filter(pipeline_id=pipeline_id, status__in=UNFINISHED).order_by("id")
        for run_id in await running.values_list("id", flat=True):
            unfinished.append(PipelineNews(NewsKind.TEST_RUN, int(run_id)))  # type: ignore[call-overload]
        if unfinished:
            yield unfinished, None
        while True:
            events = await follower.read(block_ms=quiet_ms)
            if events:
                yield events, follower.delivery
