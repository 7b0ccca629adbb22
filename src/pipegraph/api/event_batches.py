"""A batch of subscription events whose selection is planned, sent as one result instead of one result per event.

A 50-target promotion burst is 250 events. Built without graphql-core (api/event_plans.py), each still went alone
through graphql-core's per-event step, strawberry's per-result handling (its extensions' hooks, the result stream)
and the socket handler's send with its token check: the last event of a burst waited for all that, 249 times. A
subscription that takes its events batch by batch (promotionProgress) now yields, where the socket's handler can take
it (`Context.event_batches`: api/websocket.py), the batch's planned events as one value: PlannedEvents, each event's
finished `data`. graphql-core and strawberry pass it once, as one result (EventBatchesExecutionContext), and the
handler writes one `next` (or `data`) message per event, in order, the same messages as one result per event.

An event the plan leaves to graphql-core (a null where the schema says non-null) is yielded alone where it falls,
so the order stays the events' own and graphql-core's errors stay its own. A selection that is not planned is
yielded event by event, as always.

The events are built (`prepare`) while the batch's visibility is read (`while_reading`: the statement goes out
first), once per stream delivery for every socket with the same planned selection, and only those each viewer sees
are sent to it (`Prepared.events`).
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from graphql import ExecutionResult

from pipegraph.api.burst_share import BurstShare
from pipegraph.api.context import Info
from pipegraph.api.event_plans import EventPlan, event_plan
from pipegraph.api.json_output import dumps
from pipegraph.reads.executor import CompiledReadsExecutionContext

R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")
W = TypeVar("W")


class Built:
    """A planned event's finished `data`, and its JSON once a socket sends it: with the event, both are made once for
    every socket it is sent to (`made_events`), each of which only puts its own message around the JSON."""

    __slots__ = ("data", "_json")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._json: bytes | None = None

    def json(self) -> bytes:
        if self._json is None:
            self._json = dumps(self.data)
        return self._json


class PlannedEvents:
    """Consecutive events of one subscription, each built: its result's finished `data`."""

    __slots__ = ("events",)

    def __init__(self, events: list[Built]) -> None:
        self.events = events

    @property
    def data(self) -> list[dict[str, Any]]:
        return [event.data for event in self.events]

    def __repr__(self) -> str:
        return f"PlannedEvents({len(self.events)} events)"


@dataclass(frozen=True)
class Prepared(Generic[S, T]):
    """A batch's events, built where planned, each with what it was made from: built before it is known which the
    viewer sees (while that is read), and sent for those it sees."""

    items: list[tuple[S, T, Built | None]]

    def events(self, seen: Callable[[S], bool] | None = None) -> Iterator[T]:
        """What the subscription yields for the events whose source the viewer sees (None: every one): PlannedEvents
        for each run of built ones, and any other on its own, in the events' order."""
        if seen is None:
            return iter(self._every)
        return planned_runs((event, built) for source, event, built in self.items if seen(source))

    @cached_property
    def _every(self) -> list[T]:
        # The same for every socket that sees the whole batch (most do), and made once for all of them where the
        # batch is shared (`made_events`).
        return list(planned_runs((event, built) for _, event, built in self.items))


def prepare(info: Info, sources: Iterable[S], make: Callable[[S], T], *, burst: object | None = None) -> Prepared[S, T]:
    """The batch's events made from their sources, each built where the selection is planned and the socket's handler
    takes batches.

    With `burst` (what the stream's reader delivered: the same for every follower, streams/hub.py), the events another
    socket of the process made of the same sources for the same selection are taken rather than made again: `make`
    must then depend on its source alone, not on the viewer."""
    plan = event_plan(info._raw_info.schema, info._raw_info.operation) if info.context.event_batches else None
    return made_events(plan, sources, make, burst=burst)


@dataclass
class _Made(Generic[S, T]):
    """A burst's events as made for one plan: what each source was made into, by the source's id (the source is
    kept, so that its id stays its own), and the last batch prepared from them."""

    items: dict[int, tuple[S, T, Built | None]] = field(default_factory=dict)
    # The sources a socket last asked for, and what they were prepared into: every socket that had seen none of the
    # burst before asks for the very same ones, and is handed the same Prepared.
    last: tuple[list[S], Prepared[S, T]] | None = None

    def prepared(self, sources: list[S], plan: EventPlan | None, make: Callable[[S], T]) -> Prepared[S, T]:
        if self.last is not None and _same_objects(self.last[0], sources):
            return self.last[1]
        items: list[tuple[S, T, Built | None]] = []
        for source in sources:
            item = self.items.get(id(source))
            if item is None or item[0] is not source:
                event = make(source)
                data = plan.data(event) if plan is not None else None
                item = self.items[id(source)] = (source, event, None if data is None else Built(data))
            items.append(item)
        prepared = Prepared(items)
        self.last = (sources, prepared)
        return prepared


def _same_objects(these: list[Any], those: list[Any]) -> bool:
    return len(these) == len(those) and all(map(operator.is_, these, those))


# Each burst's events as made for each plan, for every socket following the stream with that selection: a thousand
# sockets on one promotion made a 50-target burst's 250 events a thousand times, though a planned selection's data
# depends on the event alone (plain values: no resolver, no argument). Whom each event is sent to stays each socket's
# own decision (`Prepared.events`).
_made: BurstShare[_Made[Any, Any]] = BurstShare()


def made_events(
    plan: EventPlan | None, sources: Iterable[S], make: Callable[[S], T], *, burst: object | None = None
) -> Prepared[S, T]:
    """`prepare`'s events for a plan (None: not planned)."""
    made: _Made[S, T] = _made.made((plan, burst), _Made) if plan is not None and burst is not None else _Made()
    return made.prepared(list(sources), plan, make)


async def while_reading(read: Coroutine[Any, Any, R], work: Callable[[], W]) -> tuple[R, W]:
    """`read`'s result and `work()`'s, the work done while the read waits on the database: the read starts first and
    is given one turn of the event loop to send its statement."""
    task = asyncio.ensure_future(read)
    try:
        await asyncio.sleep(0)
        done = work()
        return await task, done
    finally:
        task.cancel()  # only matters when the work failed or this was cancelled: a finished task ignores it


def planned_runs(events: Iterable[tuple[T, Built | None]]) -> Iterator[T]:
    """Each run of built events (an event, and what it was built into) as one PlannedEvents, and any event not built
    (None: left to graphql-core) on its own, in the events' order."""
    run: list[Built] = []
    for event, built in events:
        if built is not None:
            run.append(built)
            continue
        if run:
            # A batch stands in for its events: EventBatchesExecutionContext and the handler unpack it.
            yield cast(T, PlannedEvents(run))
            run = []
        yield event
    if run:
        yield cast(T, PlannedEvents(run))


class EventBatchesExecutionContext(CompiledReadsExecutionContext):
    """The schema's execution context: a batch of planned events is already its data."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        if type(self.root_value) is PlannedEvents:
            return ExecutionResult(data=cast(Any, self.root_value))
        return super().execute_operation(serially)
