"""Running a compiled read: plan (cached per document, operation and the variables below the root), fetch, and build
the response's dicts directly, for the `pipeline`, `pipelines`, `app`, `apps` and `node` root fields (`node` of the
types whose table says who sees them: pipelines, apps, releases, slugs, users, teams).

The root resolvers call `read_pipeline`, `read_pipelines`, `read_app`, `read_apps` or `read_node` first; None means
"not compiled" and they carry on as always. A `Compiled` value is handed to the response as it is by
CompiledReadsExecutionContext, without graphql-core completing each field again: that per-field work is what made big
reads slow (graphql-core #189, strawberry #3544).
The compiled path raises only what the root resolver raises itself (its arguments), from the same functions.

A selection with fields the tables do not compile is not sent back whole: the objects that hold such fields (and every
object and stage above them) are built as their strawberry objects, registered with the compiled values of their
other fields, and graphql-core completes them: CompiledReadsExecutionContext.execute_field answers a compiled field
from the registry and lets every other field run its resolver. Errors, null propagation and DataLoaders of those
fields are the resolvers' own, because it is the resolvers and graphql-core that run them.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from graphql import ExecutionResult, FieldNode, OperationType, Visitor, visit
from graphql.execution.executor import to_nodes
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from pipegraph.access.rights import Rights
from pipegraph.access.rules import PipelineRight
from pipegraph.api.context import Info
from pipegraph.api.event_plans import event_plan
from pipegraph.api.event_results import execute_shared, shared_as
from pipegraph.api.nodes import Keyset
from pipegraph.apps.models import App
from pipegraph.core.relay import encode_cursor, page_size
from pipegraph.pipelines.models import Pipeline, Stage
from pipegraph.pipelines.ownership import foreign
from pipegraph.pipelines.service import USER_STAGES
from pipegraph.pipelines.types import PIPELINES, PipelineStageType
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
    ListPlan,
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
from pipegraph.reads.shapes import (
    APP,
    GRAPHQL_INT_MAX,
    PIPELINE,
    TABLES,
    Table,
    Unsupported,
    graphql_int,
    same,
    stage_name,
)


@dataclass(frozen=True)
class Compiled:
    """A root field's finished value, or (`partial`) its strawberry object for graphql-core to complete."""

    data: Any
    partial: bool = False


@dataclass(frozen=True)
class Partial:
    """A compiled field's value that holds mixed objects: graphql-core completes it (lists, nulls, the objects)."""

    value: Any


# A mixed object's compiled fields, by response key (a Partial for those graphql-core completes), kept with the object
# so that its id stays its own.
Registered = tuple[Any, dict[str, Any]]


class CompiledReadsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, which also lets the compiled reads plan with it (its fragments and variables)
    and hands their finished values to the response without completing them field by field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self.context_value, "execution"):
            # Weakly: the context must not keep its executor alive in a cycle, left for the cyclic GC to collect.
            self.context_value.execution = weakref.ref(self)
        self.mixed: dict[int, Registered] = {}  # the mixed objects of this execution, by id

    def execute_operation(self, serially: bool | None = None) -> Any:
        # A subscription event that says what it is runs its selection once for all the subscribers who would get
        # the same answer (api/event_results.py).
        if self.operation.operation != OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        # A selection of plain values is built from the event directly (api/event_plans.py).
        plan = event_plan(self.schema, self.operation)
        data = plan.data(self.root_value) if plan is not None else None
        if data is not None:
            return ExecutionResult(data=data)
        event = shared_as(self.root_value)
        if event is None:
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
            if not result.partial:
                return result.data
            result = result.data
        return super().complete_value(return_type, field_details_list, info, path, result, *rest)

    def execute_field(
        self, parent_type: Any, source: Any, field_details_list: Any, path: Any, position_context: Any
    ) -> Any:
        registered = self.mixed.get(id(source)) if self.mixed else None
        if registered is None or registered[0] is not source or path.key not in registered[1]:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        value = registered[1][path.key]
        if not isinstance(value, Partial):
            return value  # compiled and finished
        return self._complete_partial(parent_type, field_details_list, path, value.value, position_context)

    def _complete_partial(
        self, parent_type: Any, field_details_list: Any, path: Any, value: Any, position_context: Any
    ) -> Any:
        """Complete a compiled value holding mixed objects, as execute_field completes a resolver's value: the same
        error handling, so that an error below is located and nulls propagate as on the resolvers."""
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        assert field_def is not None
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
        try:
            completed = self.complete_value(return_type, field_details_list, info, path, value, position_context)
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as error:
                self.handle_field_error(error, return_type, field_details_list, path)
                return None

        return await_completed()


# Plans ------------------------------------------------------------------------------------------------------------

MAX_PLANS = 512
# (root field node id, number of nodes, the type read, values of the variables used below the root) → (the nodes, kept
# so that their ids stay theirs while cached; the plan, or None when the selection is not compiled)
_plans: dict[tuple[Any, ...], tuple[list[FieldNode], Any]] = {}
_variables_below: dict[int, tuple[list[FieldNode], frozenset[str]]] = {}
# (root field node id, the type read) → (the node, kept; the plan it was last read with): bounded with the plans.
_last_plans: dict[tuple[int, str], tuple[FieldNode, Any]] = {}


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: Any, *_: Any) -> None:
        self.names.add(node.name.value)


def variables_below(nodes: list[FieldNode], fragments: dict[str, Any]) -> frozenset[str]:
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


def _plan(info: Info, kind: str, make: Callable[[Planner, list[Any]], Any]) -> Any:
    """The cached plan of this root field read as `kind` (`node` reads one document as several types), or None when
    its selection is not compiled."""
    raw = info._raw_info  # graphql-core's resolve info, which strawberry's Info wraps: the field nodes, the fragments
    executor = info.context.execution() if info.context.execution is not None else None
    if executor is None:
        return None
    nodes = raw.field_nodes
    variables = executor.variable_values.coerced
    used = variables_below(nodes, raw.fragments)
    key = (id(nodes[0]), len(nodes), kind, *((name, repr(variables.get(name))) for name in sorted(used)))
    cached = _plans.get(key)
    if cached is not None and cached[0][0] is nodes[0]:
        plan = cached[1]
    else:
        try:
            plan = make(Planner(executor), root_details(nodes))
        except Unsupported:
            plan = None
        if len(_plans) >= MAX_PLANS:
            _plans.clear()  # bounded; plans are cheap to make again
            _last_plans.clear()
        _plans[key] = (nodes, plan)
    if len(nodes) == 1:
        _last_plans[(id(nodes[0]), kind)] = (nodes[0], plan)
    return plan


def last_plan(node: FieldNode, table: Table) -> ObjectPlan | None:
    """The plan this root field node (alone under its response key) was last read with as `table`, if still cached:
    what a read done along with the request's credential check (api/speculation.py) guesses from."""
    found = _last_plans.get((id(node), table.type_name))
    return cast(ObjectPlan | None, found[1]) if found is not None and found[0] is node else None


# (the plan's identity, the root field's argument): what a read done along with the credential check must be asked
# for with to hand its rows over (api/speculation.py).
Key = tuple[str, int, str]


def pipeline_key(plan: ObjectPlan, name: str) -> Key:
    return ("pipeline", id(plan), name)


def _object_plan(info: Info, table: Table) -> ObjectPlan | None:
    return cast(
        ObjectPlan | None, _plan(info, table.type_name, lambda planner, details: planner.object(table, details))
    )


def _connection_plan(info: Info, table: Table) -> ConnectionPlan | None:
    connection_type = info._raw_info.return_type
    return cast(
        ConnectionPlan | None,
        _plan(
            info,
            table.type_name,
            lambda planner, details: planner.connection(connection_type, table.type_name, details),
        ),
    )


def _finished(info: Info, builder: Builder, mixed: bool, value: Any) -> Compiled:
    """The root field's value; if it holds mixed objects, they are handed to the execution context to complete."""
    if not mixed:
        return Compiled(value)
    info.context.execution().mixed.update(builder.mixed)
    return Compiled(value, partial=True)


# The root fields ----------------------------------------------------------------------------------------------------


async def read_pipeline(info: Info, *, name: str | None = None, pipeline_id: int | None = None) -> Compiled | None:
    """`pipeline(name:)` or `pipeline(id:)` (already checked by the resolver), or None: not compiled."""
    plan = _object_plan(info, PIPELINE)
    if plan is None:
        return None
    # The tree may have been read already, by the statement that checked the request's credential
    # (api/speculation.py); else the viewer's rights and the tree are read at once: neither needs the other until the
    # rows are in.
    prefetched = info.context.prefetched
    taken: list[Row] | None = prefetched.take(pipeline_key(plan, name)) if prefetched and name is not None else None
    if taken is not None:
        rights, rows = await info.context.access.rights(), taken
    else:
        rights, rows = await asyncio.gather(
            info.context.access.rights(),
            fetch.pipelines([plan], name=name, ids=[] if pipeline_id is None else [pipeline_id]),
        )
    built = await _built_pipeline(rights, plan, rows)
    if built is None:
        return None
    builder, value = built
    # The resolvers' pipeline primes app_by_id with every coupled app; this one does not: building all those models
    # (config vars, dates) cost more than the one batched statement it spares a mixed field such as a review app's
    # `app`, and answers are the same either way.
    return Compiled(None) if builder is None else _finished(info, builder, plan.mixed, value)


async def pipeline_answer(rights: Rights, plan: ObjectPlan, rows: list[Row]) -> Compiled | None:
    """`pipeline`'s finished value from its tree's rows, as read_pipeline answers, for a plan without mixed objects
    (nothing for graphql-core to complete: api/speculation.py answers a request with it); None: not compiled."""
    if plan.mixed:
        return None
    built = await _built_pipeline(rights, plan, rows)
    return None if built is None else Compiled(built[1])


async def _built_pipeline(rights: Rights, plan: ObjectPlan, rows: list[Row]) -> tuple[Builder | None, Any] | None:
    """The pipeline's value and its builder (None, with a null value, for a pipeline unseen or not found); None when
    the rows hold what the compiled reads leave to the resolvers."""
    if not rows or PipelineRight.VIEW not in rights.pipeline_rights(rows[0], rows[0]["apps"]):
        return None, None  # as the resolver: an unseen pipeline is null
    try:
        builder = await Builder.for_pipelines(rights, rows, [plan])
        return builder, builder.object(plan, rows[0])
    except Unsupported:
        return None


async def read_app(info: Info, *, name: str | None = None, app_id: int | None = None) -> Compiled | None:
    """`app(name:)` (a name that could be one: the resolver checked), or an app's `node`; None: not compiled."""
    plan = _object_plan(info, APP)
    if plan is None:
        return None
    rights, rows = await asyncio.gather(
        info.context.access.rights(), fetch.apps([plan], name=name, ids=[] if app_id is None else [app_id])
    )
    if not rows or not rights.can_view_app(rows[0]):
        return Compiled(None)  # as the resolver: an unseen app is null
    try:
        builder = await Builder.for_apps(rights, rows, [plan])
        return _finished(info, builder, plan.mixed, builder.object(plan, rows[0]))
    except Unsupported:
        return None


async def read_node(info: Info, type_name: str, key: int) -> Compiled | None:
    """`node(id:)` of a compiled type (its id already decoded by the resolver, its type known); None otherwise."""
    if type_name == PIPELINE.type_name:
        return await read_pipeline(info, pipeline_id=key)
    if type_name == APP.type_name:
        return await read_app(info, app_id=key)
    table = TABLES.get(type_name)
    if table is None or table.seen is None:
        return None
    plan = _object_plan(info, table)
    if plan is None:
        return None
    access = info.context.access
    rights, rows = await asyncio.gather(access.rights(), fetch.nodes(plan, [key], table.seen.through))
    if not rows or not await table.seen.rule(access, rows[0]):
        return Compiled(None)  # as the resolvers' resolve_visible: an unseen node is null
    try:
        builder = Builder(rights, {})  # these tables have no pages
        return _finished(info, builder, plan.mixed, builder.object(plan, rows[0]))
    except Unsupported:
        return None


PageIds = Callable[[int, str | None], Awaitable[Any]]


async def read_pipelines(info: Info, *, first: int | None, after: str | None, page_ids: PageIds) -> Compiled | None:
    """A page of `pipelines`: `page_ids(limit, after_name)` reads the ids of the visible pipelines past a name, in
    order (the resolver's own query, so the same rule)."""
    return await _read_page(info, PIPELINE, PIPELINES, first=first, after=after, page_ids=page_ids)


async def read_apps(
    info: Info, keyset: Keyset[str], *, first: int | None, after: str | None, page_ids: PageIds
) -> Compiled | None:
    """A page of `apps`, as read_pipelines (`page_ids` holds the resolver's filters: visibility, `inPipeline`)."""
    return await _read_page(info, APP, keyset, first=first, after=after, page_ids=page_ids)


async def _read_page(
    info: Info, table: Table, keyset: Keyset[str], *, first: int | None, after: str | None, page_ids: PageIds
) -> Compiled | None:
    plan = _connection_plan(info, table)
    if plan is None:
        return None
    size = page_size(first)  # keyset_page's checks, in its order: the same errors
    after_name = keyset.decode(keyset.kind, after)
    page: list[int] = list(await page_ids(size + 1, after_name))
    rights = await info.context.access.rights()
    read = fetch.pipelines if table is PIPELINE else fetch.apps
    fetched = {row["id"]: row for row in await read(plan.nodes, ids=page[:size])} if size else {}
    rows = [fetched[key] for key in page[:size] if key in fetched]
    extra = page[size:]  # the row past the page only tells that a next page exists
    try:
        build = Builder.for_pipelines if table is PIPELINE else Builder.for_apps
        builder = await build(rights, rows, plan.nodes)
        cursor = _cursor(keyset, "name")
        make = builder.mixed_connection if plan.mixed else builder.connection
        value = make(plan, rows, has_next=bool(extra), has_previous=after is not None, cursor=cursor)
    except Unsupported:
        return None
    return _finished(info, builder, plan.mixed, value)


def _cursor(keyset: Keyset[Any], column: str) -> Callable[[Row], str]:
    return lambda row: encode_cursor(keyset.kind, row[column])


# Building the response --------------------------------------------------------------------------------------------


class Builder:
    """Builds the response's dicts from the fetched rows, as the resolvers would answer."""

    def __init__(self, rights: Rights, pages: dict[PagePlan, dict[int, list[Row]]]) -> None:
        self.rights = rights
        self.pages = pages
        self.mixed: dict[int, Registered] = {}  # the mixed objects built, for the execution context

    def register(self, source: Any, done: dict[str, Any]) -> Any:
        self.mixed[id(source)] = (source, done)
        return source

    @classmethod
    async def for_pipelines(cls, rights: Rights, pipelines: list[Row], plans: list[ObjectPlan]) -> Builder:
        """Decide which apps the viewer sees (the resolvers' rule), then read the pages those apps' fields ask for."""
        for pipeline in pipelines:
            pipeline["visible"] = [app for app in pipeline["apps"] if rights.can_view_app(app)]
        apps = [app for pipeline in pipelines for app in pipeline["visible"]]
        builder = await cls.for_apps(rights, apps, [app for plan in plans for app in fetch.app_plans(plan)])
        pipeline_ids = [pipeline["id"] for pipeline in pipelines]
        for plan in plans:
            for _, item in plan.fields:
                if isinstance(item, ListPlan) and item.rows not in builder.pages:
                    builder.pages[item.rows] = await fetch.pages(item.rows, pipeline_ids)
        return builder

    @classmethod
    async def for_apps(cls, rights: Rights, apps: list[Row], plans: list[ObjectPlan]) -> Builder:
        """Read the pages the apps' fields ask for: each page field's, for every app, in one statement."""
        app_ids = [app["id"] for app in apps]
        pages: dict[PagePlan, dict[int, list[Row]]] = {}
        for page in fetch.page_plans(plans):
            pages[page] = await fetch.pages(page, app_ids)
        return cls(rights, pages)

    def object(self, plan: ObjectPlan, row: Row) -> Any:
        """The object's dict, or if mixed its strawberry object, registered with the compiled fields' values."""
        return _object_builder(plan)(self, row)

    def page(self, plan: PagePlan, row: Row) -> Any:
        rows = self.pages[plan].get(row["id"], [])
        make = self.mixed_connection if plan.connection.mixed else self.connection
        value = make(
            plan.connection,
            rows[: plan.size],
            has_next=len(rows) > plan.size,
            has_previous=plan.after is not None,
            cursor=_cursor(plan.page.keyset, plan.page.order),
        )
        return Partial(value) if plan.connection.mixed else value

    def listed(self, plan: ListPlan, row: Row) -> Any:
        rows = self.pages[plan.rows].get(row["id"], [])[: plan.rows.size]
        objects = [self.object(plan.node, child) for child in rows]
        return Partial(objects) if plan.node.mixed else objects

    def app_list(self, plan: AppsPlan, row: Row) -> Any:
        apps = [self.object(plan.plan, app) for app in self.apps(plan, row)]
        return Partial(apps) if plan.plan.mixed else apps

    def stage_list(self, plan: StagesPlan, row: Row) -> Any:
        by_stage = _by_stage(row["visible"]) if any(isinstance(item, AppsPlan) for _, item in plan.fields) else {}
        stages = [self.stage(plan, stage, row, by_stage.get(stage.value, [])) for stage in USER_STAGES]
        return Partial(stages) if plan.mixed else stages

    def apps(self, plan: AppsPlan, pipeline: Row) -> list[Row]:
        if not plan.foreign:
            return list(pipeline["visible"])
        # The resolvers' own rule (ownership.foreign) over the rows: they have the columns it reads.
        foreign_apps = cast(list[Row], foreign(cast(list[App], pipeline["apps"]), cast(Pipeline, pipeline)))
        return [app for app in foreign_apps if self.rights.can_view_app(app)]

    def either(self, plan: EitherPlan, row: Row) -> Any:
        team = row[plan.either.team.parent_column] is not None
        joined = row[f"{plan.name}.team" if team else f"{plan.name}.user"]
        if joined is None:
            raise Unsupported("an owner that is gone: the resolvers report the error")
        owner = plan.team if team else plan.user
        value = self.object(owner, joined)
        return Partial(value) if owner.mixed else value

    def stage(self, plan: StagesPlan, stage: Stage, pipeline: Row, apps: list[Row]) -> Any:
        """The stage's dict (or object), `apps` being the visible apps coupled to it, by name."""
        result: dict[str, Any] = {}
        for key, item in plan.fields:
            if isinstance(item, StageName):
                result[key] = stage_name(stage)
            elif isinstance(item, Typename):
                result[key] = item.name
            else:
                assert isinstance(item, AppsPlan)
                build = _object_builder(item.plan)  # looked up once for the stage's apps, not once per app
                objects = [build(self, app) for app in apps]
                result[key] = Partial(objects) if item.plan.mixed else objects
        if not plan.mixed:
            return result
        return self.register(PipelineStageType(name=stage, pipeline_id=pipeline["id"]), result)

    def connection(
        self, plan: ConnectionPlan, rows: list[Row], *, has_next: bool, has_previous: bool, cursor: Callable[[Row], str]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in plan.fields:
            if isinstance(item, Typename):
                result[key] = item.name
            elif isinstance(item, EdgesPlan):
                edge = _edge_builder(item)
                result[key] = [edge(self, row, cursor) for row in rows]
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

    def mixed_connection(
        self, plan: ConnectionPlan, rows: list[Row], *, has_next: bool, has_previous: bool, cursor: Callable[[Row], str]
    ) -> relay.Connection[Any]:
        """A connection whose nodes are mixed, built as the resolvers' build_connection does, for graphql-core."""
        edges = [relay.Edge(node=self.object(plan.nodes[0], row), cursor=cursor(row)) for row in rows]
        page_info = relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return relay.Connection(edges=edges, page_info=page_info)


def _name(app: Row) -> str:
    return str(app["name"])


def _by_stage(apps: list[Row]) -> dict[str, list[Row]]:
    """The apps of each stage (by its stored value), by name: sorted once for all stages rather than filtered and
    sorted once per stage. The sort is stable, so apps of equal names keep their coupling order, as before."""
    grouped: dict[str, list[Row]] = {}
    for app in sorted(apps, key=_name):
        grouped.setdefault(app["stage"], []).append(app)
    return grouped


# Per-plan builder functions (the graphql-jit idea) --------------------------------------------------------------------
#
# A bulk read builds ~100,000 objects from a handful of plans: deciding each field's kind (an isinstance chain) and
# storing it key by key was most of the building. Each plan gets, once, a function whose body is one dict display
# of its fields in response order: leaves read their column and call their serializer, the rest call the Builder's
# method for their kind. Only names and repr() literals are generated (response keys, column names); every value
# comes in through the function's globals, so nothing of a document becomes code.

ObjectBuilder = Callable[[Builder, Row], Any]
EdgeBuilder = Callable[[Builder, Row, Callable[[Row], str]], dict[str, Any]]
# By the plan's identity, the plan kept with its function (so that its id stays its own): a plain dict, looked up for
# every object built (a WeakKeyDictionary's get, Python code making a weak reference each time, was a twentieth of a
# bulk read). Bounded like the plans, which are cached and dropped the same way.
_object_builders: dict[int, tuple[ObjectPlan, ObjectBuilder]] = {}
_edge_builders: dict[int, tuple[EdgesPlan, EdgeBuilder]] = {}
MAX_BUILDERS = 4 * MAX_PLANS


def _remember(builders: dict[int, tuple[Any, Any]], plan: Any, built: Any) -> None:
    if len(builders) >= MAX_BUILDERS:
        builders.clear()
    builders[id(plan)] = (plan, built)


def _generate(
    arguments: str,
    items: list[tuple[str, str]],
    names: dict[str, Any],
    returns: str = "done",
    first: tuple[str, ...] = (),
) -> Any:
    """A function of `arguments` that runs the statements `first`, builds `done`, the dict of `items` (response key,
    expression) in their order, and returns the expression `returns`."""
    body = ", ".join(f"{key!r}: {expression}" for key, expression in items)
    namespace = dict(names)
    statements = "".join(f"    {statement}\n" for statement in first)
    source = f"def build({arguments}):\n{statements}    done = {{{body}}}\n    return {returns}"
    exec(source, namespace)  # only names and literals: see above
    return namespace["build"]


def _object_builder(plan: ObjectPlan) -> ObjectBuilder:
    found = _object_builders.get(id(plan))
    if found is not None and found[0] is plan:
        return found[1]
    items, names, checks = _object_parts(plan, "")
    if plan.mixed:
        # Its strawberry object, registered with the compiled fields' values, for graphql-core to complete.
        names["instance"] = plan.table.instance
        built = cast(
            ObjectBuilder,
            _generate(
                "builder, row", items, names, returns="builder.register(instance(row), done)", first=tuple(checks)
            ),
        )
    else:
        built = cast(ObjectBuilder, _generate("builder, row", items, names, first=tuple(checks)))
    _remember(_object_builders, plan, built)
    return built


def _object_parts(plan: ObjectPlan, prefix: str) -> tuple[list[tuple[str, str]], dict[str, Any], list[str]]:
    """The object's dict display as (response key, expression) items over `row` and `builder`, the globals they use
    and the statements to run first (Int checks); every name generated starts with `prefix`, so that the parts can be
    put into another builder's function (an edge's: _edge_builder)."""
    names: dict[str, Any] = {}
    items: list[tuple[str, str]] = []

    def bind(value: Any) -> str:
        name = f"{prefix}v{len(names)}"
        names[name] = value
        return name

    checks: list[str] = []
    for key, item in plan.fields:
        if isinstance(item, LeafPlan) and item.leaf.serialize is graphql_int:
            # graphql_int inline (a call per integer was a tenth of a bulk read): read first, checked, then answered.
            value = f"{prefix}i{len(checks)}"
            names["Unsupported"] = Unsupported
            checks.append(
                f"{value} = row[{item.leaf.column!r}]\n"
                f"    if {value} is not None and not {-GRAPHQL_INT_MAX - 1} <= {value} <= {GRAPHQL_INT_MAX}:\n"
                f"        raise Unsupported('an Int out of range: the resolvers report the error')"
            )
            items.append((key, value))
        elif isinstance(item, LeafPlan):
            value = f"row[{item.leaf.column!r}]"
            items.append((key, value if item.leaf.serialize is same else f"{bind(item.leaf.serialize)}({value})"))
        elif isinstance(item, Typename):
            items.append((key, repr(item.name)))
        elif isinstance(item, JoinPlan) and item.join.seen is None and not item.plan.mixed:
            # Inline, the child's builder called directly: a call less for every joined row (a release, its slug).
            joined = f"{prefix}j{len(items)}"
            child = bind(_object_builder(item.plan))
            items.append((key, f"(None if ({joined} := row[{item.name!r}]) is None else {child}(builder, {joined}))"))
        elif isinstance(item, JoinPlan):
            items.append((key, f"{bind(_joined(item))}(builder, row)"))
        elif isinstance(item, RulePlan):
            items.append((key, f"{bind(item.rule.value)}(row, builder.rights)"))
        elif isinstance(item, EitherPlan):
            items.append((key, f"builder.either({bind(item)}, row)"))
        elif isinstance(item, PagePlan):
            items.append((key, f"builder.page({bind(item)}, row)"))
        elif isinstance(item, AppsPlan):
            items.append((key, f"builder.app_list({bind(item)}, row)"))
        elif isinstance(item, ListPlan):
            items.append((key, f"builder.listed({bind(item)}, row)"))
        else:
            assert isinstance(item, StagesPlan)
            items.append((key, f"builder.stage_list({bind(item)}, row)"))
    return items, names, checks


def _joined(plan: JoinPlan) -> ObjectBuilder:
    """A join's builder, for a child the viewer may not see or that is mixed (the others are built inline)."""
    name, child, seen, mixed = plan.name, _object_builder(plan.plan), plan.join.seen, plan.plan.mixed

    def build_seen(builder: Builder, row: Row) -> Any:
        joined = row[name]
        if joined is None or (seen is not None and not seen(builder.rights, joined)):
            return None
        value = child(builder, joined)
        return Partial(value) if mixed else value  # a mixed child is its object, for graphql-core to complete

    return build_seen


def _edge_builder(plan: EdgesPlan) -> EdgeBuilder:
    found = _edge_builders.get(id(plan))
    if found is not None and found[0] is plan:
        return found[1]
    names: dict[str, Any] = {}
    items: list[tuple[str, str]] = []
    checks: list[str] = []
    for key, item in plan.fields:
        if isinstance(item, ObjectPlan) and not item.mixed:
            # The node's dict built in the edge's own function (its row is the edge's): a call less per edge, of the
            # thousands a bulk read builds. Its names are its own (prefixed), apart from the edge's.
            node_items, node_names, node_checks = _object_parts(item, f"n{len(items)}_")
            names.update(node_names)
            checks.extend(node_checks)
            items.append((key, "{" + ", ".join(f"{k!r}: {expression}" for k, expression in node_items) + "}"))
        elif isinstance(item, ObjectPlan):
            names[f"v{len(names)}"] = _object_builder(item)
            items.append((key, f"v{len(names) - 1}(builder, row)"))
        elif isinstance(item, Cursor):
            items.append((key, "cursor(row)"))
        else:
            assert isinstance(item, Typename)
            items.append((key, repr(item.name)))
    built = cast(EdgeBuilder, _generate("builder, row, cursor", items, names, first=tuple(checks)))
    _remember(_edge_builders, plan, built)
    return built
