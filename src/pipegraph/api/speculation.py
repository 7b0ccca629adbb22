"""The dashboard's data statement, started while the request's credential is checked rather than after.

Every request starts with the statement that checks its token or session (and reads the viewer's rights): nothing is
cached, so that a revoked token is refused on the very next request. For the dashboard that round trip was a fourth of
the request, spent waiting before the data statement could even be sent. The compiled pipeline read's tree statement
does not depend on who asks (it reads every app of the pipeline; visibility is decided after, in memory, from the
rights the check read), so it can be sent at once, on a second pool connection, while the check runs (on PostgreSQL:
SQLite's one connection runs statements in turn, and measured no gain):

- only for a query already known to the fast path whose one root field is `pipeline(name:)`, started from the plan
  that field was last read with, and only when the request carries a credential at all;
- its rows reach nothing until the request's own read asks for exactly that read (the same plan object, the same
  name), which happens only once the check passed: the resolver runs after RequireToken, with the rights the check
  produced, and applies them as it always does;
- a failed check (or one that raises) discards it: the task is cancelled and awaited, its rows or error dropped
  unseen, nothing logged; the refusal is the one it always was. A read started but not asked for (another plan by
  now) is discarded the same way when the request ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
from graphql import FieldNode, StringValueNode, VariableNode

from pipegraph.core.names import could_be_name
from pipegraph.reads import fetch
from pipegraph.reads.executor import Key, last_plan, pipeline_key
from pipegraph.reads.shapes import PIPELINE


class Prefetched:
    """The reads a request started before its credential was checked, by what they read."""

    def __init__(self) -> None:
        self._reads: dict[Key, asyncio.Task[Any]] = {}
        self._plans: list[Any] = []  # kept alive while their identity is a key

    def start(self, key: Key, plan: Any, read: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._plans.append(plan)
        self._reads[key] = asyncio.ensure_future(read())

    def take(self, key: Key) -> Awaitable[Any] | None:
        """The read started for `key`, handed over once (the caller awaits it, and gets its rows or its error)."""
        return self._reads.pop(key, None)

    def __bool__(self) -> bool:
        return bool(self._reads)

    async def discard(self) -> None:
        """Cancel and await every read not taken, dropping its rows or error unseen."""
        reads, self._reads = list(self._reads.values()), {}
        for read in reads:
            read.cancel()
        if reads:
            await asyncio.gather(*reads, return_exceptions=True)


def speculate(known_query: Callable[[str, str | None], Any], body: bytes) -> Prefetched | None:
    """The reads to start for this request body, given the fast path's known queries; None when there are none.

    Reads the body as the view will (a body the view would refuse starts nothing) and never raises."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(request, dict):
        return None
    query, operation_name, variables = request.get("query"), request.get("operationName"), request.get("variables")
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return None
    variables = variables if isinstance(variables, dict) else {}
    known = known_query(query, operation_name)
    if known is None:
        return None
    selections = known.operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    node: FieldNode = selections[0]
    arguments = node.arguments or ()
    if node.name.value != "pipeline" or node.directives or len(arguments) != 1:
        return None
    [argument] = arguments
    if argument.name.value != "name":
        return None
    value = argument.value
    name = (
        value.value
        if isinstance(value, StringValueNode)
        else variables.get(value.name.value)
        if isinstance(value, VariableNode)
        else None
    )
    if not isinstance(name, str) or not could_be_name(name):
        return None  # the resolver reads nothing for it
    plan = last_plan(node, PIPELINE)
    if plan is None:
        return None
    prefetched = Prefetched()
    prefetched.start(pipeline_key(plan, name), plan, lambda: fetch.pipelines([plan], name=name))
    return prefetched
