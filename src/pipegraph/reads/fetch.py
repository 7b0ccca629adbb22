"""The SQL of the compiled reads, generated from the tables (shapes.py) for the plan at hand, on either dialect.

Two kinds of statement:
- the tree: the pipeline(s) with all their couplings and apps (every app, seen or not: the pipeline rule reads them
  all), and each app's to-one joins that the selection asks for (current release, its slug), in one statement; or,
  for the app roots, the app(s) with their joins;
- one page statement per distinct page field (`releases(first:, after:)`): every app's page at once, ranked with
  ROW_NUMBER() OVER (PARTITION BY app ...), as the resolvers' release_pages loader does.

Only the columns asked for (and the keys the rules need) are read, or all of a table whose objects are handed to the
resolvers for the fields not compiled (pipelines and apps); `release_log` never is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from tortoise.connection import connections

from pipegraph.core.bulk import literal_ids
from pipegraph.reads.plan import AppsPlan, EitherPlan, JoinPlan, LeafPlan, ObjectPlan, PagePlan, RulePlan, StagesPlan
from pipegraph.reads.shapes import APP, PIPELINE, TABLES, THROUGH, Join, Table


class Row(dict[str, Any]):
    """A fetched row: columns (and joined rows) by name, and as attributes, for the access rules."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Column:
    """A table's column as a Row attribute. `__getattr__` alone is reached only once the ordinary lookup has failed
    and raised, which cost about five times as much, and the rules read several columns of every app of a read."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, row: Row | None, owner: type[Row] | None = None) -> Any:
        if row is None:
            return self
        try:
            return row[self.name]
        except KeyError:
            raise AttributeError(self.name) from None  # as __getattr__: a column not read is no attribute


def _column_attributes() -> None:
    for table in TABLES.values():
        for name in sorted({*table.keys, *table.columns}):
            if not hasattr(Row, name):  # a dict method's name stays the method, as it was with __getattr__ alone
                setattr(Row, name, _Column(name))


_column_attributes()


@dataclass
class Needs:
    """What a statement reads of a table: columns, and the to-one joins below it."""

    table: Table
    columns: set[str] = field(default_factory=set)
    joins: dict[str, tuple[Join, Needs]] = field(default_factory=dict)  # by the name the joined row is kept under

    def __post_init__(self) -> None:
        # Always read: the rules (visibility) and the cursors read them, also when no field of the row is selected,
        # as in a connection asked only for its pageInfo.
        self.columns.update(self.table.keys)

    def add(self, plan: ObjectPlan) -> None:
        if plan.mixed:
            self.columns.update(self.table.columns)  # its strawberry object holds the ORM object, as a loader reads it
        for _, item in plan.fields:
            if isinstance(item, LeafPlan):
                self.columns.add(item.leaf.column)
            elif isinstance(item, RulePlan):
                self.columns.update(item.rule.columns)
            elif isinstance(item, JoinPlan):
                self.join(item.name, item.join, item.plan)
            elif isinstance(item, EitherPlan):
                self.join(f"{item.name}.team", item.either.team, item.team)
                self.join(f"{item.name}.user", item.either.user, item.user)

    def join(self, name: str, join: Join, plan: ObjectPlan) -> None:
        self.columns.add(join.parent_column)
        _, child = self.joins.get(name) or (join, Needs(TABLES[join.target]))
        self.joins[name] = (join, child)
        child.add(plan)


def objects_below(plan: ObjectPlan) -> Iterable[ObjectPlan]:
    """The plan and those of its joins."""
    yield plan
    for _, item in plan.fields:
        if isinstance(item, JoinPlan):
            yield from objects_below(item.plan)


def app_plans(pipeline: ObjectPlan) -> list[ObjectPlan]:
    """Every selection of the pipeline's apps: through `stages { apps }` and through `apps`."""
    found: list[ObjectPlan] = []
    for _, item in pipeline.fields:
        if isinstance(item, AppsPlan):
            found.append(item.plan)
        elif isinstance(item, StagesPlan):
            found.extend(sub.plan for _, sub in item.fields if isinstance(sub, AppsPlan))
    return found


def page_plans(objects: Iterable[ObjectPlan]) -> list[PagePlan]:
    return [
        item
        for plan in objects
        for below in objects_below(plan)
        for _, item in below.fields
        if isinstance(item, PagePlan)
    ]


class Statement:
    """A SELECT being generated: its column list, joins and parameters, in the connection's dialect."""

    def __init__(self) -> None:
        self.postgres = connections.get("default").capabilities.dialect == "postgres"
        self.columns: list[str] = []
        self.joins: list[str] = []
        self.values: list[Any] = []

    def param(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else "?"

    def column(self, expression: str) -> int:
        self.columns.append(expression)
        return len(self.columns) - 1

    def read(self, needs: Needs, alias: str) -> Reader:
        """Select what `needs` asks of the table under `alias` (and its joins); return how to read it back."""
        key = self.column(f'{alias}."id"')
        others = [(name, self.column(f'{alias}."{name}"')) for name in sorted(needs.columns - {"id"})]
        reader = Reader(key, [("id", key), *others])
        for name, (join, child) in needs.joins.items():
            child_alias = f"t{len(self.joins)}"
            on = join.on(alias, child_alias)
            self.joins.append(f"LEFT JOIN {child.table.name} {child_alias} ON {on}")
            reader.joins.append((name, self.read(child, child_alias)))
        return reader

    def head(self, source: str, *, aliased: bool = False) -> str:
        """The statement up to its WHERE clause; `aliased`, each column named by its index (`c0`, `c1`, …), for a
        statement read as a subquery, whose columns must have names of their own."""
        columns = [f"{column} AS c{index}" for index, column in enumerate(self.columns)] if aliased else self.columns
        return f"SELECT {', '.join(columns)} FROM {source} {' '.join(self.joins)}"


async def _rows(head: str, where: str, order: str, values: Sequence[Any]) -> Sequence[Any]:
    _, rows = await connections.get("default").execute_query(f"{head} WHERE {where} ORDER BY {order}", list(values))
    return list(rows)


@dataclass(frozen=True)
class Prepared:
    """What a statement's SQL and readers are for one plan (or plans), made once: the same for every request of it."""

    plans: tuple[Any, ...]  # kept, so that their ids, which key it, stay theirs
    head: str
    values: tuple[Any, ...]  # the parameters the head holds (a page's cursor and size), the WHERE clause's after them
    readers: tuple[Reader, ...]
    indexes: tuple[int, ...]  # columns read directly (a coupling's stage, a page row's parent)
    # The same statement with its columns named `c0`, `c1`, … (Statement.head), up to its WHERE clause: what a read
    # along with another statement joins (pipeline_along).
    aliased: str = ""


MAX_PREPARED = 512
_prepared: dict[tuple[Any, ...], Prepared] = {}


def _prepare(kind: str, plans: Sequence[Any], make: Callable[[bool], Prepared]) -> tuple[Prepared, bool]:
    """The statement of `kind` for these plans on the connection's dialect, made by `make(postgres)` the first time;
    and whether the dialect is PostgreSQL's."""
    postgres = connections.get("default").capabilities.dialect == "postgres"
    key = (kind, postgres, *(id(plan) for plan in plans))
    found = _prepared.get(key)
    if found is None or any(a is not b for a, b in zip(found.plans, plans, strict=True)):
        if len(_prepared) >= MAX_PREPARED:
            _prepared.clear()  # bounded like the plans
        found = _prepared[key] = make(postgres)
    return found, postgres


def _placeholder(postgres: bool, number: int) -> str:
    return f"${number}" if postgres else "?"


@dataclass
class Reader:
    key: int
    columns: list[tuple[str, int]]
    joins: list[tuple[str, Reader]] = field(default_factory=list)

    @cached_property
    def row(self) -> RowFunction:
        """Builds a Row (None when nothing is joined) from a driver's row."""
        return _row_function(self.shape)

    @property
    def shape(self) -> Shape:
        """What the row function depends on: the same for every request of a plan."""
        return (self.key, tuple(self.columns), tuple((name, reader.shape) for name, reader in self.joins))


RowFunction = Callable[[Any], Row | None]
Shape = tuple[int, tuple[tuple[str, int], ...], tuple[tuple[str, Any], ...]]
MAX_ROW_FUNCTIONS = 512
_row_functions: dict[Shape, RowFunction] = {}


def _row_function(shape: Shape) -> RowFunction:
    """A function building the Row of `shape` with one assignment per column and join, generated once per shape (a
    bulk read builds thousands of rows; a comprehension per row cost more). An empty Row filled key by key, not
    Row({...}): a dict subclass built from a dict copies it through the generic update path, which cost twice as much.
    Only column indexes and repr() literals of column names are generated; the joins' functions come in through its
    globals."""
    built = _row_functions.get(shape)
    if built is not None:
        return built
    key, columns, joins = shape
    names: dict[str, Any] = {"Row": Row}
    items = [f"    built[{name!r}] = values[{int(index)}]\n" for name, index in columns]
    for number, (name, join) in enumerate(joins):
        names[f"j{number}"] = _row_function(join)
        items.append(f"    built[{name!r}] = j{number}(values)\n")
    source = (
        "def row(values):\n"
        f"    if values[{int(key)}] is None:\n"
        "        return None  # nothing joined\n"
        "    built = Row()\n"
        f"{''.join(items)}"
        "    return built"
    )
    exec(source, names)  # only names, indexes and literals: see above
    if len(_row_functions) >= MAX_ROW_FUNCTIONS:
        _row_functions.clear()  # bounded like the plans
    built = _row_functions[shape] = cast(RowFunction, names["row"])
    return built


def _pipelines_prepared(plans: Sequence[ObjectPlan]) -> tuple[Prepared, bool]:
    def make(postgres: bool) -> Prepared:
        pipeline_needs, app_needs = Needs(PIPELINE), Needs(APP)
        for plan in plans:
            pipeline_needs.add(plan)
            for app_plan in app_plans(plan):
                app_needs.add(app_plan)
        statement = Statement()
        pipeline_reader = statement.read(pipeline_needs, "p")
        stage = statement.column('c."stage"')
        coupling = statement.column('c."id"')
        statement.joins.append('LEFT JOIN pipeline_couplings c ON c.pipeline_id = p."id"')
        statement.joins.append('LEFT JOIN apps a ON a."id" = c.app_id')
        app_reader = statement.read(app_needs, "a")
        return Prepared(
            tuple(plans),
            statement.head("pipelines p"),
            (),
            (pipeline_reader, app_reader),
            (stage, coupling),
            aliased=statement.head("pipelines p", aliased=True),
        )

    return _prepare("pipelines", plans, make)


def _pipeline_rows(prepared: Prepared, rows: Iterable[Any]) -> list[Row]:
    """The pipelines of the tree statement's rows (ordered by pipeline and coupling); a row without a pipeline (read
    along with another statement, which found none) is skipped."""
    (pipeline_reader, app_reader), (stage, _) = prepared.readers, prepared.indexes
    found: dict[int, Row] = {}
    key, pipeline_row, app_row = pipeline_reader.key, pipeline_reader.row, app_reader.row
    for row_values in rows:
        pipeline_id = row_values[key]
        if pipeline_id is None:
            continue
        pipeline = found.get(pipeline_id)
        if pipeline is None:
            pipeline = found[pipeline_id] = pipeline_row(row_values) or Row()
            pipeline["apps"] = []
        app = app_row(row_values)
        if app is not None:
            app["stage"] = row_values[stage]
            pipeline["apps"].append(app)
    return list(found.values())


async def pipelines(plans: list[ObjectPlan], *, name: str | None = None, ids: Sequence[int] = ()) -> list[Row]:
    """The pipeline named `name`, or those of `ids`: each a Row with its coupled apps (all of them, in coupling order)
    under "apps", each app a Row with its stage under "stage" and its joins by field name."""
    prepared, postgres = _pipelines_prepared(plans)
    if name is not None:
        where, values = f'p."name" = {_placeholder(postgres, 1)}', [name]
    else:
        where, values = f'p."id" IN ({literal_ids(ids)})', []
    return _pipeline_rows(prepared, await _rows(prepared.head, where, 'p."id", c."id"', values))


@dataclass(frozen=True)
class Along:
    """A statement read in the round trip of another, one-row statement (the request's credential, access/preload.py):
    `lateral(number)` is its SELECT, its parameters numbered from `number`, for `LEFT JOIN LATERAL (…) t ON true`
    behind that row, and `order` the ORDER BY of the whole, over t's columns; `rows` reads the rows back (their
    first columns are t's). No row of the other statement, and it reads nothing at all."""

    key: tuple[Any, ...]  # what its SQL depends on: the same key, the same SQL
    values: tuple[Any, ...]
    lateral: Callable[[int], str]
    order: str
    rows: Callable[[Sequence[Any]], list[Row]]


def pipeline_along(plan: ObjectPlan, name: str) -> Along | None:
    """`pipeline(name:)`'s tree statement for `plan`, to read along with another statement; None on SQLite (no
    LATERAL, and one connection that runs statements in turn anyway)."""
    prepared, postgres = _pipelines_prepared([plan])
    if not postgres:
        return None
    key_index = prepared.readers[0].key
    coupling = prepared.indexes[1]
    return Along(
        key=("pipeline", prepared.aliased),
        values=(name,),
        lateral=lambda number: f'{prepared.aliased} WHERE p."name" = ${number}',
        order=f"t.c{key_index}, t.c{coupling}",
        rows=lambda rows: _pipeline_rows(prepared, rows),
    )


async def apps(plans: list[ObjectPlan], *, name: str | None = None, ids: Sequence[int] = ()) -> list[Row]:
    """The app named `name`, or those of `ids`, each a Row with its joins by field name (`app`, `apps`, `node`)."""

    def make(postgres: bool) -> Prepared:
        needs = Needs(APP)
        for plan in plans:
            needs.add(plan)
        statement = Statement()
        reader = statement.read(needs, "a")
        return Prepared(tuple(plans), statement.head("apps a"), (), (reader,), ())

    prepared, postgres = _prepare("apps", plans, make)
    build = prepared.readers[0].row
    if name is not None:
        where, values = f'a."name" = {_placeholder(postgres, 1)}', [name]
    else:
        where, values = f'a."id" IN ({literal_ids(ids)})', []
    return [row for row_values in await _rows(prepared.head, where, 'a."id"', values) if (row := build(row_values))]


async def pages(plan: PagePlan, parent_ids: Sequence[int]) -> dict[int, list[Row]]:
    """Each parent's page of `plan` (up to its size plus one rows, newest first), in one statement: per parent, an
    index range scan of its newest rows (LATERAL on PostgreSQL, a correlated LIMIT on SQLite, which has no LATERAL)."""
    if not parent_ids:
        return {}
    page = plan.page

    def make(postgres: bool) -> Prepared:
        needs = Needs(TABLES[page.target], columns={page.parent, page.order})
        for node in plan.connection.nodes:
            needs.add(node)
        statement = Statement()
        reader = statement.read(needs, "r")
        table, parent, order = needs.table.name, f'x."{page.parent}"', f'x."{page.order}"'
        below = f" AND {order} < {statement.param(plan.after)}" if plan.after is not None else ""
        if plan.hide is not None:
            below += f' AND x."{plan.hide[0]}" <> {statement.param(plan.hide[1])}'  # a name from the tables
        limit = statement.param(plan.size + 1)  # one more than the page tells whether a next page exists
        newest = f"FROM {table} x WHERE {parent} = parent.id{below} ORDER BY {order} DESC LIMIT {limit}"
        if statement.postgres:
            columns = ", ".join(f'x."{name}"' for name in sorted(needs.columns))
            source = f"{plan.owner.name} parent CROSS JOIN LATERAL (SELECT {columns} {newest}) r"
        else:
            source = f'{plan.owner.name} parent JOIN {table} r ON r."id" IN (SELECT x."id" {newest})'
        parent_index = dict(reader.columns)[page.parent]
        return Prepared((plan,), statement.head(source), tuple(statement.values), (reader,), (parent_index,))

    prepared, _ = _prepare("pages", [plan], make)
    build, (parent_index,) = prepared.readers[0].row, prepared.indexes
    where = f"parent.id IN ({literal_ids(parent_ids)})"
    found: dict[int, list[Any]] = {parent_id: [] for parent_id in parent_ids}
    order = f'r."{page.parent}", r."{page.order}" DESC'
    # The rows come by parent: its list is looked up when the parent changes, not for every row.
    parent, rows = None, []
    for row_values in await _rows(prepared.head, where, order, prepared.values):
        if row_values[parent_index] != parent:
            parent = row_values[parent_index]
            rows = found[parent]
        rows.append(build(row_values))  # never None: every row has its key
    return found


async def nodes(plan: ObjectPlan, ids: Sequence[int], through: Join | None = None) -> list[Row]:
    """The rows of `ids` of the plan's table (`node`), each with its joins by field name and, if `through` is given,
    the row it is seen through (its keys: what the visibility rule reads) under THROUGH."""
    needs = Needs(plan.table)
    needs.add(plan)
    if through is not None:
        needs.join(THROUGH, through, ObjectPlan(TABLES[through.target], []))
    statement = Statement()
    reader = statement.read(needs, "n")
    head = statement.head(f"{needs.table.name} n")
    found = await _rows(head, f'n."id" IN ({literal_ids(ids)})', 'n."id"', statement.values)
    build = reader.row
    return [row for values in found if (row := build(values))]
