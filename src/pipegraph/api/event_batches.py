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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar, cast

from graphql import ExecutionResult

from pipegraph.api.context import Info
from pipegraph.api.event_plans import EventPlan, event_plan
from pipegraph.reads.executor import CompiledReadsExecutionContext

T = TypeVar("T")


class PlannedEvents:
    """Consecutive events of one subscription, each as its result's finished `data`."""

    __slots__ = ("data",)

    def __init__(self, data: list[dict[str, Any]]) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"PlannedEvents({len(self.data)} events)"


def event_batches(info: Info, events: Iterable[T]) -> Iterator[T]:
    """What a subscription yields for one batch of its events: the batch as PlannedEvents where the selection is
    planned and the socket's handler takes batches, else each event on its own."""
    plan = event_plan(info._raw_info.schema, info._raw_info.operation) if info.context.event_batches else None
    if plan is None:
        return iter(events)
    return planned_runs(plan, events)


def planned_runs(plan: EventPlan, events: Iterable[T]) -> Iterator[T]:
    """Each run of events the plan builds as one PlannedEvents, and any it leaves to graphql-core on its own, in the
    events' order."""
    built: list[dict[str, Any]] = []
    for event in events:
        data = plan.data(event)
        if data is not None:
            built.append(data)
            continue
        if built:
            # A batch stands in for its events: EventBatchesExecutionContext and the handler unpack it.
            yield cast(T, PlannedEvents(built))
            built = []
        yield event
    if built:
        yield cast(T, PlannedEvents(built))


class EventBatchesExecutionContext(CompiledReadsExecutionContext):
    """The schema's execution context: a batch of planned events is already its data."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        if type(self.root_value) is PlannedEvents:
            return ExecutionResult(data=cast(Any, self.root_value))
        return super().execute_operation(serially)
