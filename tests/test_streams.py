"""Each stream carries one event shape, built and parsed in one place: the same event comes out as went in."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pipegraph.promotions.models import PromotionTarget, TargetStatus, TargetStep
from pipegraph.settings import Settings
from pipegraph.streams.hub import StreamHub
from pipegraph.streams.logs import RELEASE_LOG, LogEnd, LogEvent, LogLine
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted, PromotionEvent, TargetChanges, TargetState
from pipegraph.streams.publish import Event, Topic, publish_all

TARGETS = [
    TargetState(
        id=7,
        promotion_id=41,
        app_id=3,
        status=TargetStatus.FAILED,
        step=TargetStep.DONE,
        error_message="release command exited with status 1",
        release_id=12,
        sequence=5,
        updated_at=datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC),
    ),
    TargetState(
        id=8,
        promotion_id=41,
        app_id=4,
        status=TargetStatus.PENDING,
        step=TargetStep.QUEUED,
        error_message=None,
        release_id=None,
        sequence=0,
        updated_at=None,
    ),
]
PROMOTION = [TargetChanges(41, (TARGETS[0],)), TargetChanges(41, tuple(TARGETS)), PromotionCompleted()]
LOG = [LogLine("migrating…"), LogLine(""), LogLine("  indented, ünïcode"), LogEnd("succeeded")]


@pytest.mark.parametrize(
    ("topic", "event"), [(PROMOTION_EVENTS, e) for e in PROMOTION] + [(RELEASE_LOG, e) for e in LOG]
)
def test_an_event_survives_its_fields(topic: Topic[Event], event: Event) -> None:
    fields = event.to_fields()
    assert all(isinstance(value, str) for value in fields.values())
    assert topic.decode(fields) == event


def test_a_target_state_has_what_the_target_it_was_made_of_has(settings: Settings) -> None:
    # (what a subscriber reads instead of the model: the same value in every column it has)
    # (settings: the models need tortoise initialized to know their foreign key columns)
    state = TARGETS[0]
    target = PromotionTarget(**{name: getattr(state, name) for name in state.__slots__})
    assert TargetState.of(target) == state


async def test_events_published_on_redis_are_read_back_equal(settings: Settings) -> None:
    hub = StreamHub(settings.redis_url or "")
    try:
        async with (
            hub.follow(PROMOTION_EVENTS, 41, from_start=True) as promotion,
            hub.follow(RELEASE_LOG, 41, from_start=True) as log,
        ):
            for event in PROMOTION:
                await PROMOTION_EVENTS.publish(hub.redis, 41, event)
            for line in LOG:
                await RELEASE_LOG.publish(hub.redis, 41, line)
            promotion_events: list[PromotionEvent] = []
            while len(promotion_events) < len(PROMOTION):
                promotion_events += await promotion.read(block_ms=2_000)
            log_events: list[LogEvent] = []
            while len(log_events) < len(LOG):
                log_events += await log.read(block_ms=2_000)
    finally:
        await hub.close()
    assert promotion_events == PROMOTION
    assert log_events == LOG
    assert PROMOTION_EVENTS.stream(41) == "pipegraph:promotion:41:events"
    assert RELEASE_LOG.stream(41) == "pipegraph:release:41:log"


async def test_a_burst_written_at_once_reaches_a_waiting_reader_in_one_delivery(settings: Settings) -> None:
    # given a follower of a promotion's stream, caught up and waiting for news (its reader blocked on the stream)
    hub = StreamHub(settings.redis_url or "")
    burst = [TargetChanges(42, (replace(TARGETS[0], promotion_id=42, id=n, sequence=n),)) for n in range(1, 251)]
    try:
        async with hub.follow(PROMOTION_EVENTS, 42) as follower:
            assert await follower.read(block_ms=100) == []
            reading = asyncio.create_task(follower.read(block_ms=5_000))
            await asyncio.sleep(0.2)  # (its reader is blocked on the stream by now)

            # when 250 entries are published in one write
            await publish_all(hub.redis, [PROMOTION_EVENTS.entry(42, event) for event in burst])

            # then the follower is handed all of them in one delivery (one batch for a subscription to decide on),
            # in order, rather than the first and then the rest
            delivered = await reading
    finally:
        await hub.close()
    assert delivered == burst


async def test_followers_of_one_stream_share_each_decoded_event(settings: Settings) -> None:
    # given two subscribers following one promotion, caught up
    hub = StreamHub(settings.redis_url or "")
    changes = TargetChanges(43, tuple(replace(TARGETS[0], promotion_id=43, id=n, sequence=n) for n in range(1, 51)))
    try:
        async with hub.follow(PROMOTION_EVENTS, 43) as first, hub.follow(PROMOTION_EVENTS, 43) as second:
            assert await first.read(block_ms=100) == await second.read(block_ms=100) == []
            reading = asyncio.gather(first.read(block_ms=5_000), second.read(block_ms=5_000))
            await asyncio.sleep(0.2)

            # when a burst is published
            await PROMOTION_EVENTS.publish(hub.redis, 43, changes)

            # then both get it, decoded once for both (a thousand subscribers cost one decoding, not a thousand)
            (seen_first,), (seen_second,) = await reading
    finally:
        await hub.close()
    assert seen_first == changes
    assert seen_second is seen_first


async def test_an_entry_this_version_cannot_read_is_skipped_and_the_stream_still_followed(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given a follower of a promotion's stream, caught up
    hub = StreamHub(settings.redis_url or "")
    changes = TargetChanges(44, (replace(TARGETS[0], promotion_id=44),))
    try:
        async with hub.follow(PROMOTION_EVENTS, 44) as follower:
            assert await follower.read(block_ms=100) == []
            reading = asyncio.create_task(follower.read(block_ms=5_000))
            await asyncio.sleep(0.2)

            # when another version of pipegraph writes an entry of its own shape (an upgrade in progress), then this
            # version one of its own
            await publish_all(hub.redis, [(PROMOTION_EVENTS.stream(44), {"target_id": "7", "sequence": "5"})])
            await PROMOTION_EVENTS.publish(hub.redis, 44, changes)

            # then the follower gets what it can read, and the entry it cannot is logged, not raised
            delivered = await reading
    finally:
        await hub.close()
    assert delivered == [changes]
    assert "which this version cannot read" in caplog.text
