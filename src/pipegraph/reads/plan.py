"""Planning a compiled read: what a root field's selection asks of each table, collected by graphql-core itself.

The planner walks the selection with the executor's own `collect_subfields`, so fragments, aliases, `@include`/`@skip`
and variables select exactly what the resolvers would see, in the response's key order. A field the tables do not
declare is left to the resolvers on the table's strawberry source (the node is "mixed": graphql-core completes it,
taking the compiled fields as they are and running the resolvers for the rest, so their errors, nulls and
DataLoaders are theirs; every object above it is mixed too, so that graphql-core reaches it). What no table holds,
like a deferred fragment, a bad nested argument or a field of a PipelineStage, raises Unsupported: the resolvers
answer that root field (and report any error exactly as they always do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from graphql import GraphQLObjectType, get_named_type
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.values import get_argument_values

from pipegraph.core.errors import ClientError
from pipegraph.core.relay import page_size
from pipegraph.reads.shapes import (
    PIPELINE,
    TABLES,
    UNPAGED,
    Either,
    Join,
    Leaf,
    Listed,
    Page,
    Rule,
    Table,
    Unsupported,
)

FieldDetailsList = list[FieldDetails]


@dataclass(frozen=True)
class Typename:
    name: str


@dataclass(frozen=True)
class LeafPlan:
    leaf: Leaf


@dataclass(frozen=True)
class RulePlan:
    rule: Rule


@dataclass(eq=False)
class ObjectPlan:
    """An object of a table: its fields in response order, each a plan of its own. `resolved` names the fields left
    to the resolvers; `mixed` tells that graphql-core completes this object (it or an object below has such fields)."""

    table: Table
    fields: list[tuple[str, Any]]
    resolved: tuple[str, ...] = ()
    mixed: bool = False


@dataclass(eq=False)
class JoinPlan:
    name: str
    join: Join
    plan: ObjectPlan


@dataclass(eq=False)
class EitherPlan:
    """A union: the joined row's plan for each runtime type (rows joined as "<name>.team" and "<name>.user")."""

    name: str
    either: Either
    team: ObjectPlan
    user: ObjectPlan


class Cursor:
    """An edge's cursor."""


@dataclass(eq=False)
class ConnectionPlan:
    """A connection's selection: `fields` holds Typename, EdgesPlan and PageInfoPlan entries."""

    fields: list[tuple[str, Any]]
    nodes: list[ObjectPlan] = field(default_factory=list)  # every `node` selection of its edges

    @cached_property
    def mixed(self) -> bool:
        """Its nodes leave fields to the resolvers: the connection is built as strawberry's, for graphql-core.

        Asked first once the planner has added every node (Planner.connection), and then for every page built (a bulk
        read builds hundreds): computed once."""
        return any(node.mixed for node in self.nodes)


@dataclass(eq=False)
class EdgesPlan:
    fields: list[tuple[str, Any]]  # Typename, Cursor or ObjectPlan (the node)


@dataclass(eq=False)
class PageInfoPlan:
    fields: list[tuple[str, str]]  # response key → PageInfo field name (or __typename)


@dataclass(eq=False)
class PagePlan:
    """A to-many relation read as a page: its size and cursor value are the field's arguments, checked here."""

    name: str
    owner: Table  # the parents' table
    page: Page
    size: int
    after: int | None
    connection: ConnectionPlan
    hide: tuple[str, Any] | None = None  # (column, value): rows holding it are left out


@dataclass(eq=False)
class ListPlan:
    """A plain list of children (`Listed`), read as a page without a cursor (`rows`) whose one node plan is `node`."""

    name: str
    rows: PagePlan
    node: ObjectPlan


@dataclass(eq=False)
class AppsPlan:
    """The apps of a pipeline the viewer sees: all of them in coupling order, a stage's by name, or (`foreign`) those
    not owned by the pipeline's owner, by name."""

    plan: ObjectPlan
    foreign: bool = False


class StageName:
    """A PipelineStage's `name`."""


@dataclass(eq=False)
class StagesPlan:
    fields: list[tuple[str, Any]]  # Typename, StageName or AppsPlan
    mixed: bool = False  # apps below leave fields to the resolvers: each stage is a PipelineStageType to complete


class Planner:
    """Plans one root field's selection, with the operation's executor (fragments and variables)."""

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.schema = executor.schema

    def _type(self, name: str) -> GraphQLObjectType:
        gql_type = self.schema.get_type(name)
        assert isinstance(gql_type, GraphQLObjectType)
        return gql_type

    def _subfields(self, gql_type: GraphQLObjectType, details: FieldDetailsList) -> dict[str, FieldDetailsList]:
        collected = self.executor.collect_subfields(gql_type, details)
        if collected.new_defer_usages:
            raise Unsupported("@defer")
        grouped: dict[str, FieldDetailsList] = collected.grouped_field_set
        return grouped

    def object(self, table: Table, details: FieldDetailsList, *, paged: bool = True) -> ObjectPlan:
        """The plan of an object of `table`. Below a join or a list (`paged` false) its pages are left to the
        resolvers: a page is read for the parents of the root's rows (fetch.py), not for joined ones."""
        gql_type = self._type(table.type_name)
        fields: list[tuple[str, Any]] = []
        resolved: list[str] = []
        for key, field_details in self._subfields(gql_type, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append((key, Typename(gql_type.name)))
            elif name in table.leaves:
                fields.append((key, LeafPlan(table.leaves[name])))
            elif name in table.joins:
                join = table.joins[name]
                joined = self.object(TABLES[join.target], field_details, paged=False)
                fields.append((key, JoinPlan(name, join, joined)))
            elif name in table.rules:
                fields.append((key, RulePlan(table.rules[name])))
            elif name in table.unions:
                either = table.unions[name]
                team, user = (
                    self.object(TABLES[join.target], field_details, paged=False) for join in (either.team, either.user)
                )
                fields.append((key, EitherPlan(name, either, team, user)))
            elif name in table.pages and paged:
                fields.append((key, self.page(table, gql_type, name, field_details)))
            elif name in table.lists:
                fields.append((key, self.listed(table, gql_type, name, field_details)))
            elif table is PIPELINE and name == "stages":
                fields.append((key, self.stages(field_details)))
            elif table is PIPELINE and name in ("apps", "foreignApps"):
                fields.append((key, AppsPlan(self.object(TABLES["App"], field_details), name == "foreignApps")))
            elif table.source is not None:
                resolved.append(key)  # the resolvers answer it, on the node's strawberry object
            else:
                raise Unsupported(f"{table.type_name}.{name}")
        mixed = bool(resolved) or any(_mixed(item) for _, item in fields)
        if mixed and table.source is None:
            raise Unsupported(f"{table.type_name} has no strawberry source for the resolvers")
        return ObjectPlan(table, fields, tuple(resolved), mixed)

    def stages(self, details: FieldDetailsList) -> StagesPlan:
        gql_type = self._type("PipelineStage")
        fields: list[tuple[str, Any]] = []
        for key, field_details in self._subfields(gql_type, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append((key, Typename(gql_type.name)))
            elif name == "name":
                fields.append((key, StageName()))
            elif name == "apps":
                fields.append((key, AppsPlan(self.object(TABLES["App"], field_details))))
            else:
                raise Unsupported(f"PipelineStage.{name}")
        return StagesPlan(fields, any(_mixed(item) for _, item in fields))

    def arguments(self, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> dict[str, Any]:
        first = details[0]
        return get_argument_values(
            parent.fields[name],
            first.node,
            self.executor.variable_values,
            first.fragment_variable_values,
            self.executor.hide_suggestions,
        )

    def page(self, table: Table, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> PagePlan:
        page = table.pages[name]
        arguments = self.arguments(parent, name, details)
        try:
            size = page_size(arguments.get("first"))
            after = page.keyset.decode(page.keyset.kind, arguments.get("after"))
        except ClientError as error:
            raise Unsupported("a bad nested argument: the resolvers report it at its path") from error
        connection = self.connection(parent.fields[name].type, page.target, details)
        return PagePlan(name, table, page, size, after, connection)

    def listed(self, table: Table, parent: GraphQLObjectType, name: str, details: FieldDetailsList) -> ListPlan:
        listed: Listed = table.lists[name]
        hide = listed.hide
        if hide is not None and listed.unless and self.arguments(parent, name, details).get(listed.unless):
            hide = None
        node = self.object(TABLES[listed.target], details, paged=False)
        page = Page(listed.target, parent=listed.parent, order=listed.order, keyset=UNPAGED)
        rows = PagePlan(name, table, page, listed.limit, None, ConnectionPlan([], nodes=[node]), hide)
        return ListPlan(name, rows, node)

    def connection(self, connection_type: Any, node_type: str, details: FieldDetailsList) -> ConnectionPlan:
        gql_type = get_named_type(connection_type)
        assert isinstance(gql_type, GraphQLObjectType)
        plan = ConnectionPlan([])
        for key, field_details in self._subfields(gql_type, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                plan.fields.append((key, Typename(gql_type.name)))
            elif name == "edges":
                plan.fields.append((key, self.edges(gql_type, node_type, field_details, plan)))
            elif name == "pageInfo":
                page_info = self._type("PageInfo")
                keys = [(k, d[0].node.name.value) for k, d in self._subfields(page_info, field_details).items()]
                plan.fields.append((key, PageInfoPlan(keys)))
            else:
                raise Unsupported(f"{gql_type.name}.{name}")
        if plan.mixed and len(plan.nodes) > 1:
            raise Unsupported("edges selected twice over mixed nodes: each edge holds one node object")
        return plan

    def edges(
        self, connection_type: GraphQLObjectType, node_type: str, details: FieldDetailsList, plan: ConnectionPlan
    ) -> EdgesPlan:
        edge_type = get_named_type(connection_type.fields["edges"].type)
        assert isinstance(edge_type, GraphQLObjectType)
        fields: list[tuple[str, Any]] = []
        for key, field_details in self._subfields(edge_type, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append((key, Typename(edge_type.name)))
            elif name == "cursor":
                fields.append((key, Cursor()))
            elif name == "node":
                node = self.object(TABLES[node_type], field_details)
                plan.nodes.append(node)
                fields.append((key, node))
            else:
                raise Unsupported(f"{edge_type.name}.{name}")
        return EdgesPlan(fields)


def _mixed(item: Any) -> bool:
    """Whether graphql-core completes this field's value (it holds objects whose fields the resolvers answer)."""
    if isinstance(item, (ObjectPlan, StagesPlan)):
        return item.mixed
    if isinstance(item, (AppsPlan, JoinPlan)):
        return item.plan.mixed
    if isinstance(item, EitherPlan):
        return item.team.mixed or item.user.mixed
    if isinstance(item, PagePlan):
        return item.connection.mixed
    if isinstance(item, ListPlan):
        return item.node.mixed
    return False  # a leaf, a rule, a __typename


def root_details(field_nodes: list[Any]) -> FieldDetailsList:
    """The root field as the executor groups it (no @defer: that is refused above)."""
    return [FieldDetails(node, None) for node in field_nodes]
