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
- when the rows hold the whole answer (the plan leaves nothing to resolvers, and no variable but the name's reaches
  it, so that graphql-core would plan it the same), RequireToken answers from them itself (Speculation.answer; on
  SQLite, which has no LATERAL, it reads the tree once the check passed, as the resolver would have), with
  the compiled read's own builder and the same rights: strawberry's request handling and graphql-core's per-request
  set-up were a third of what remained of the request. The response is the view's, byte for byte, and it is counted
  and logged as the fast path's operations are, once it is sent (the client need not wait for its log line).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import FieldNode, FragmentDefinitionNode, NamedTypeNode, NonNullTypeNode, StringValueNode, VariableNode
from starlette.background import BackgroundTask
from starlette.responses import Response
from strawberry.types.execution import ExecutionResult

from pipegraph.access.rights import Rights
from pipegraph.api.body import StrictJSONBody
from pipegraph.api.fast_path import FastPathSchema, KnownQuery
from pipegraph.api.json_output import dumps
from pipegraph.api.metrics import record_operation
from pipegraph.core.names import could_be_name
from pipegraph.reads import fetch
from pipegraph.reads.executor import Key, last_plan, pipeline_answer, pipeline_key, variables_below
from pipegraph.reads.fetch import Along
from pipegraph.reads.plan import ObjectPlan
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
    """A read a request body lets its credential check read along (`along`; None on SQLite, which reads it after the
    check), and what its rows are kept under; and with `direct`, what answering the request from those rows alone
    takes."""

    key: Key
    plan: ObjectPlan
    name: str
    along: Along | None
    direct: Direct | None = None

    def prefetched(self, rows: Sequence[Any]) -> Prefetched | None:
        if self.along is None:
            return None
        prefetched = Prefetched()
        prefetched.put(self.key, self.plan, self.along.rows(rows))
        return prefetched

    async def answer(self, viewer: Any, rights: Rights | None, rows: Sequence[Any] | None) -> Response | None:
        """The response, built from the rows read along (on SQLite, read now, once the check passed), without
        strawberry or graphql-core: what they would answer, for a query whose only root field is the compiled
        `pipeline(name:)` with nothing left to resolvers; None when that is not so (the request then takes the view,
        with the rows)."""
        direct, along = self.direct, self.along
        if direct is None or rights is None or (along is not None and rows is None):
            return None
        started = time.perf_counter()
        try:
            tree = (
                along.rows(rows)
                if along is not None and rows is not None
                else await fetch.pipelines([self.plan], name=self.name)
            )
            compiled = await pipeline_answer(rights, self.plan, tree)
        except Exception:
            # Nothing but Unsupported is expected (pipeline_answer turns it into None); anything else is left to the
            # view, whose read runs again and reports it as a GraphQL error, as it always has.
            return None
        if compiled is None:
            return None
        data = {direct.response_key: compiled.data}
        # Counted, timed and logged as the fast path does the same query (api/fast_path.py), once the response is
        # sent: the client need not wait for its metrics and its log line.
        observe = BackgroundTask(direct.observe, viewer, data, time.perf_counter() - started)
        return Response(dumps({"data": data}), media_type="application/json", background=observe)


@dataclass(frozen=True)
class Direct:
    """A known query answered without the view (Speculation.answer): the request's parts, and the response key."""

    schema: FastPathSchema
    known: KnownQuery
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    response_key: str

    async def observe(self, viewer: Any, data: dict[str, Any], seconds: float) -> None:
        """Count, time and log the answered query, as the fast path does (api/fast_path.py). A coroutine function,
        for its BackgroundTask to run it in the request's own task, not in a thread."""
        execution = self.schema.observed(
            self.known, self.query, self.variables, SimpleNamespace(viewer=viewer), self.operation_name
        )
        execution.result = ExecutionResult(data=data, errors=None, extensions={})
        record_operation(execution, seconds)


def speculate(schema: FastPathSchema, body: bytes) -> Speculation | None:
    """The read to do along with this request body's credential check, given the fast path's known queries; None when
    there is none.

    Reads the body as the view will (a body the view would refuse reads nothing more) and never raises."""
    try:
        request = _BODY._request_fields(orjson.loads(body))
    except (orjson.JSONDecodeError, HTTPException):
        return None  # the view reads it again, and answers
    query, operation_name = request.get("query"), request.get("operationName")
    variables = request.get("variables") or {}
    if not isinstance(query, str):
        return None
    known = schema.known.get(query, operation_name)
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
    direct = (
        Direct(schema, known, query, variables, operation_name, (node.alias or node.name).value)
        if not plan.mixed and _answerable(schema, known, node, variables)
        else None  # a mixed plan leaves fields to resolvers: the view answers it (on SQLite, reading nothing twice)
    )
    if along is None and direct is None:
        return None  # SQLite: nothing to read along, nor to answer here
    return Speculation(pipeline_key(plan, name), plan, name, along, direct)


def _answerable(schema: FastPathSchema, known: KnownQuery, node: FieldNode, variables: dict[str, Any]) -> bool:
    """Whether graphql-core would run this request's `pipeline(name:)` exactly as the plan was last read: the
    request's own checks pass (the fast path's), nothing on the operation but that field, and no variable but the
    name's, whose value is the string it declares (coerced as it came), so that the plan's cache key is the one its
    last read had."""
    operation = known.operation
    if operation.directives or not schema.may_run(known, variables, None):
        return False
    definitions = operation.variable_definitions or ()
    if not definitions:
        return True  # the name is a literal, and nothing below the root reads a variable (each must be declared)
    if len(definitions) != 1:
        return False
    [definition] = definitions
    type_node = definition.type
    if isinstance(type_node, NonNullTypeNode):
        type_node = type_node.type
    argument = (node.arguments or ())[0].value  # speculate saw that it has one, the name
    return (
        isinstance(type_node, NamedTypeNode)
        and type_node.name.value == "String"
        and not definition.directives
        and isinstance(argument, VariableNode)
        and argument.name.value == definition.variable.name.value
        and not _reads_variables(node, known)
    )


def _reads_variables(node: FieldNode, known: KnownQuery) -> bool:
    """Whether the selection below the root field (its fragments' included) reads any variable."""
    fragments = {
        definition.name.value: definition
        for definition in known.document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return bool(variables_below([node], fragments))


_BODY = StrictJSONBody()
