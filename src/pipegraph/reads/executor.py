"""Running a compiled read: plan (cached per document, operation and the variables below the root), fetch, and build
the response's dicts directly, for the `pipeline` and `pipelines` root fields.

The root resolvers call `read_pipeline` / `read_pipelines` first; None means "not compiled" and they carry on as
always. A `Compiled` value is handed to the response as it is by CompiledReadsExecutionContext, without graphql-core
completing each field again: that per-field work is what made big reads slow (graphql-core #189, strawberry #3544).
The compiled path raises only what the root resolver raises itself (its arguments), from the same functions.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from graphql import FieldNode, OperationType, Visitor, visit
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from pipegraph.access.rights import Rights
from pipegraph.access.rules import PipelineRight
from pipegraph.api.context import Info
from pipegraph.api.event_results import execute_shared, shared_as
from pipegraph.api.nodes import Keyset
from pipegraph.apps.models import App
from pipegraph.core.relay import encode_cursor, page_size
from pipegraph.pipelines.models import Pipeline, Stage
from pipegraph.pipelines.ownership import foreign
from pipegraph.pipelines.service import USER_STAGES
from pipegraph.pipelines.types import PIPELINES
from pipegraph.reads import fetch
from pipegraph.reads.fetch import Row
from pipegraph.reads.plan import (
    AppsPlan,
    ConnectionPlan,
    Cursor,
    EdgesPlan,
    EitherPlan,
    JoinPlan,
    LeafPlan,
    ObjectPlan,
    PageInfoPlan,
    PagePlan,
    Planner,
    RulePlan,
    StageName,
    StagesPlan,
    Typename,
    root_details,
)
from pipegraph.reads.shapes import PIPELINE, Unsupported, stage_name


@dataclass(frozen=True)
class Compiled:
    """A root field's finished value."""

    data: Any


class CompiledReadsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, which also lets the compiled reads plan with it (its fragments and variables)
    and hands their finished values to the response without completing them field by field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self.context_value, "execution"):
            # Weakly: the context must not keep its executor alive in a cycle, left for the cyclic GC to collect.
            self.context_value.execution = weakref.ref(self)

    def execute_operation(self, serially: bool | None = None) -> Any:
        # A subscription event that says what it is runs its selection once for all the subscribers who would get
        # the same answer (api/event_results.py).
        event = shared_as(self.root_value)
        if event is None or self.operation.operation != OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        return execute_shared(
            self.operation,
            self.variable_values.coerced,
            self.context_value,
            event,
            # A subscription's operation never streams incrementally: its result is a plain ExecutionResult.
            lambda: cast(Any, super(CompiledReadsExecutionContext, self).execute_operation(serially)),
        )

    def complete_value(
        self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any, *rest: Any
    ) -> Any:
        if isinstance(result, Compiled):
            return result.data
        return super().complete_value(return_type, field_details_list, info, path, result, *rest)


# Plans ------------------------------------------------------------------------------------------------------------

MAX_PLANS = 512
# (root field node id, number of nodes, values of the variables used below the root) → (the nodes, kept so that their
# ids stay theirs while cached; the plan, or None when the selection is not compiled)
_plans: dict[tuple[Any, ...], tuple[list[FieldNode], Any]] = {}
_variables_below: dict[int, tuple[list[FieldNode], frozenset[str]]] = {}


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: Any, *_: Any) -> None:
        self.names.add(node.name.value)


def _used_below(nodes: list[FieldNode], fragments: dict[str, Any]) -> frozenset[str]:
    """Variables the selection below the root may read (every fragment's too: a fair over-estimate)."""
    cached = _variables_below.get(id(nodes[0]))
    if cached is not None and cached[0][0] is nodes[0]:
        return cached[1]
    found = _Variables()
    for node in nodes:
        if node.selection_set is not None:
            visit(node.selection_set, found)
    for fragment in fragments.values():
        visit(fragment, found)
    names = frozenset(found.names)
    if len(_variables_below) >= MAX_PLANS:
        _variables_below.clear()  # bounded like the plans: every new document brings new nodes
    _variables_below[id(nodes[0])] = (nodes, names)
    return names


def _plan(info: Info, make: Callable[[Planner, list[Any]], Any]) -> Any:
    """The cached plan of this root field, or None when its selection is not compiled."""
    raw = info._raw_info  # graphql-core's resolve info, which strawberry's Info wraps: the field nodes, the fragments
    executor = info.context.execution() if info.context.execution is not None else None
    if executor is None:
        return None
    nodes = raw.field_nodes
    variables = executor.variable_values.coerced
    used = _used_below(nodes, raw.fragments)
    key = (id(nodes[0]), len(nodes), *((name, repr(variables.get(name))) for name in sorted(used)))
    cached = _plans.get(key)
    if cached is not None and cached[0][0] is nodes[0]:
        return cached[1]
    try:
        plan = make(Planner(executor), root_details(nodes))
    except Unsupported:
        plan = None
    if len(_plans) >= MAX_PLANS:
        _plans.clear()  # bounded; plans are cheap to make again
    _plans[key] = (nodes, plan)
    return plan


# The two root fields ------------------------------------------------------------------------------------------------


async def read_pipeline(info: Info, *, name: str | None = None, pipeline_id: int | None = None) -> Compiled | None:
    """`pipeline(name:)` or `pipeline(id:)` (already checked by the resolver), or None: not compiled."""
    plan = _plan(info, lambda planner, details: planner.object(PIPELINE, details))
    if plan is None:
        return None
    # The viewer's rights and the pipeline's tree are read at once: neither needs the other until the rows are in.
    rights, rows = await asyncio.gather(
        info.context.access.rights(),
        fetch.pipelines([plan], name=name, ids=[] if pipeline_id is None else [pipeline_id]),
    )
    if not rows or PipelineRight.VIEW not in rights.pipeline_rights(rows[0], rows[0]["apps"]):
        return Compiled(None)  # as the resolver: an unseen pipeline is null
    try:
        builder = await Builder.for_pipelines(rights, rows, [plan])
        return Compiled(builder.object(plan, rows[0]))
    except Unsupported:
        return None


async def read_pipelines(
    info: Info, *, first: int | None, after: str | None, page_ids: Callable[[int, str | None], Awaitable[Any]]
) -> Compiled | None:
    """A page of `pipelines`: `page_ids(limit, after_name)` reads the ids of the visible pipelines past a name, in
    order (the resolver's own query, so the same rule)."""
    plan: ConnectionPlan | None = _plan(
        info, lambda planner, details: planner.connection(info._raw_info.return_type, "Pipeline", details)
    )
    if plan is None:
        return None
    size = page_size(first)  # keyset_page's checks, in its order: the same errors
    after_name = PIPELINES.decode(PIPELINES.kind, after)
    page: list[int] = list(await page_ids(size + 1, after_name))
    rights = await info.context.access.rights()
    fetched = {row["id"]: row for row in await fetch.pipelines(plan.nodes, ids=page[:size])} if size else {}
    rows = [fetched[pipeline_id] for pipeline_id in page[:size] if pipeline_id in fetched]
    extra = page[size:]  # the row past the page only tells that a next page exists
    try:
        builder = await Builder.for_pipelines(rights, rows, plan.nodes)
        cursor = _cursor(PIPELINES, "name")
        return Compiled(
            builder.connection(plan, rows, has_next=bool(extra), has_previous=after is not None, cursor=cursor)
        )
    except Unsupported:
        return None


def _cursor(keyset: Keyset[Any], column: str) -> Callable[[Row], str]:
    return lambda row: encode_cursor(keyset.kind, row[column])


# Building the response --------------------------------------------------------------------------------------------


class Builder:
    """Builds the response's dicts from the fetched rows, as the resolvers would answer."""

    def __init__(self, rights: Rights, pages: dict[PagePlan, dict[int, list[Row]]]) -> None:
        self.rights = rights
        self.pages = pages

    @classmethod
    async def for_pipelines(cls, rights: Rights, pipelines: list[Row], plans: list[ObjectPlan]) -> Builder:
        """Decide which apps the viewer sees (the resolvers' rule), then read the pages those apps' fields ask for."""
        for pipeline in pipelines:
            pipeline["visible"] = [app for app in pipeline["apps"] if rights.can_view_app(app)]
        app_ids = [app["id"] for pipeline in pipelines for app in pipeline["visible"]]
        pages: dict[PagePlan, dict[int, list[Row]]] = {}
        for page in fetch.page_plans(app for plan in plans for app in fetch.app_plans(plan)):
            pages[page] = await fetch.pages(page, app_ids)
        return cls(rights, pages)

    def object(self, plan: ObjectPlan, row: Row) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in plan.fields:
            if isinstance(item, LeafPlan):
                result[key] = item.leaf.serialize(row[item.leaf.column])
            elif isinstance(item, Typename):
                result[key] = item.name
            elif isinstance(item, JoinPlan):
                joined = row[item.name]
                result[key] = None if joined is None else self.object(item.plan, joined)
            elif isinstance(item, RulePlan):
                result[key] = item.rule.value(row, self.rights)
            elif isinstance(item, EitherPlan):
                result[key] = self.either(item, row)
            elif isinstance(item, PagePlan):
                rows = self.pages[item].get(row["id"], [])
                result[key] = self.connection(
                    item.connection,
                    rows[: item.size],
                    has_next=len(rows) > item.size,
                    has_previous=item.after is not None,
                    cursor=_cursor(item.page.keyset, item.page.order),
                )
            elif isinstance(item, AppsPlan):
                result[key] = [self.object(item.plan, app) for app in self.apps(item, row)]
            else:
                assert isinstance(item, StagesPlan)
                result[key] = [self.stage(item, stage, row) for stage in USER_STAGES]
        return result

    def apps(self, plan: AppsPlan, pipeline: Row) -> list[Row]:
        if not plan.foreign:
            return list(pipeline["visible"])
        # The resolvers' own rule (ownership.foreign) over the rows: they have the columns it reads.
        foreign_apps = cast(list[Row], foreign(cast(list[App], pipeline["apps"]), cast(Pipeline, pipeline)))
        return [app for app in foreign_apps if self.rights.can_view_app(app)]

    def either(self, plan: EitherPlan, row: Row) -> dict[str, Any]:
        team = row[plan.either.team.parent_column] is not None
        joined = row[f"{plan.name}.team" if team else f"{plan.name}.user"]
        if joined is None:
            raise Unsupported("an owner that is gone: the resolvers report the error")
        return self.object(plan.team if team else plan.user, joined)

    def stage(self, plan: StagesPlan, stage: Stage, pipeline: Row) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in plan.fields:
            if isinstance(item, StageName):
                result[key] = stage_name(stage)
            elif isinstance(item, Typename):
                result[key] = item.name
            else:
                assert isinstance(item, AppsPlan)
                apps = sorted((app for app in pipeline["visible"] if app["stage"] == stage.value), key=_name)
                result[key] = [self.object(item.plan, app) for app in apps]
        return result

    def connection(
        self, plan: ConnectionPlan, rows: list[Row], *, has_next: bool, has_previous: bool, cursor: Callable[[Row], str]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in plan.fields:
            if isinstance(item, Typename):
                result[key] = item.name
            elif isinstance(item, EdgesPlan):
                result[key] = [self.edge(item, row, cursor) for row in rows]
            else:
                assert isinstance(item, PageInfoPlan)
                values = {
                    "__typename": "PageInfo",
                    "hasNextPage": has_next,
                    "hasPreviousPage": has_previous,
                    "startCursor": cursor(rows[0]) if rows else None,
                    "endCursor": cursor(rows[-1]) if rows else None,
                }
                result[key] = {page_key: values[name] for page_key, name in item.fields}
        return result

    def edge(self, plan: EdgesPlan, row: Row, cursor: Callable[[Row], str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in plan.fields:
            if isinstance(item, ObjectPlan):
                result[key] = self.object(item, row)
            elif isinstance(item, Cursor):
                result[key] = cursor(row)
            else:
                assert isinstance(item, Typename)
                result[key] = item.name
        return result


def _name(app: Row) -> str:
    return str(app["name"])
