"""The dashboard's data statement, read in the round trip that checks the request's credential rather than after it.

Every request starts with the statement that checks its token or session (and reads the viewer's rights): nothing is
cached, so that a revoked token is refused on the very next request. For the dashboard that round trip was a fourth of
the request, spent waiting before the data statement could even be sent. The compiled pipeline read's tree statement
does not depend on who asks (it reads every app of the pipeline; visibility is decided after, in memory, from the
rights the check read), so on PostgreSQL it is joined LATERAL behind the credential's row, in that very statement
(access/preload.py): one round trip, one pool connection.

- only for a query already known to the fast path whose one root field is `pipeline(name:)`, read with the plan that
  field was last read with, and only when the request carries a credential at all;
- no credential row (unknown, revoked, ended or expired), and the statement reads no tree row at all: the refusal is
  the one it always was, word for word;
- its rows reach nothing until the request's own read asks for exactly that read (the same plan object, the same
  name), which happens only once the check passed: the resolver runs after RequireToken, with the rights the same
  statement read, and applies them as it always does. Rows not asked for (another plan by now) are dropped unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import FieldNode, StringValueNode, VariableNode

from pipegraph.core.names import could_be_name
from pipegraph.reads import fetch
from pipegraph.reads.executor import Key, last_plan, pipeline_key
from pipegraph.reads.fetch import Along
from pipegraph.reads.shapes import PIPELINE


class Prefetched:
    """The reads a request's credential check read along with it, by what they read."""

    def __init__(self) -> None:
        self._reads: dict[Key, Any] = {}
        self._plans: list[Any] = []  # kept alive while their identity is a key

    def put(self, key: Key, plan: Any, rows: Any) -> None:
        self._plans.append(plan)
        self._reads[key] = rows

    def take(self, key: Key) -> Any | None:
        """The rows read for `key`, handed over once; None when nothing was read for it."""
        return self._reads.pop(key, None)

    def __bool__(self) -> bool:
        return bool(self._reads)


@dataclass(frozen=True)
class Speculation:
    """A read a request body lets its credential check read along (`along`), and what its rows are kept under."""

    key: Key
    plan: Any
    along: Along

    def prefetched(self, rows: Sequence[Any]) -> Prefetched:
        prefetched = Prefetched()
        prefetched.put(self.key, self.plan, self.along.rows(rows))
        return prefetched


def speculate(known_query: Callable[[str, str | None], Any], body: bytes) -> Speculation | None:
    """The read to do along with this request body's credential check, given the fast path's known queries; None when
    there is none.

    Reads the body as the view will (a body the view would refuse reads nothing more) and never raises."""
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
    along = fetch.pipeline_along(plan, name)
    return Speculation(pipeline_key(plan, name), plan, along) if along is not None else None
