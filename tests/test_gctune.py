"""Garbage collection for a long-running process (pipegraph/gctune.py): start-up frozen, thresholds raised, and the
young generation collected every tenth of a second in the API rather than left to grow to the threshold."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from pipegraph.gctune import (
    THRESHOLDS,
    YOUNG_COLLECTION_MIN,
    YOUNG_COLLECTION_SECONDS,
    collect_due,
    collect_young_regularly,
    tune_after_startup,
)


class _Cycle:
    """An object that only a collection frees: it refers to itself."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture
def tuned_thresholds() -> Iterator[None]:
    """The thresholds a tuned process runs with, so that Python's own collections wait for 50,000 young objects."""
    before = gc.get_threshold()
    gc.collect()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def test_gc_tuning_freezes_start_up_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_after_startup()
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_the_api_collects_young_cycles_within_a_few_tenths_of_a_second(tuned_thresholds: None) -> None:
    # given cycles enough to be worth a collection, far fewer than the young generation's threshold
    cycles = [_Cycle() for _ in range(YOUNG_COLLECTION_MIN)]
    first = weakref.ref(cycles[0])
    del cycles
    assert first() is not None, "freed without a collection: not a cycle"
    assert YOUNG_COLLECTION_MIN <= gc.get_count()[0] < THRESHOLDS[0]

    # when the API's collector runs for a few of its periods
    collector = asyncio.create_task(collect_young_regularly())
    try:
        await asyncio.sleep(YOUNG_COLLECTION_SECONDS * 3)
    finally:
        collector.cancel()

    # then they were freed, without waiting for 50,000 young objects
    assert first() is None


def test_a_few_young_objects_are_not_worth_a_collection(tuned_thresholds: None) -> None:
    cycle = weakref.ref(_Cycle())
    assert gc.get_count()[0] < YOUNG_COLLECTION_MIN

    assert collect_due() is None
    assert cycle() is not None


def test_older_generations_are_collected_when_their_counts_reach_their_thresholds(tuned_thresholds: None) -> None:
    alive: list[list[object]] = []  # each young object counts while it lives: one freed would count one less

    def young_objects() -> None:
        alive.append([[] for _ in range(YOUNG_COLLECTION_MIN)])

    young_objects()
    assert collect_due() == 0

    for _ in range(THRESHOLDS[1]):
        gc.collect(0)  # each one counts for the middle generation
    young_objects()
    assert collect_due() == 1

    for _ in range(THRESHOLDS[2]):
        gc.collect(1)  # each one counts for the old generation
    young_objects()
    assert collect_due() == 2
    assert gc.get_count()[1:] == (0, 0)
