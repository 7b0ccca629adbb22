"""Query cost before execution, as GitHub's node limit: how many nodes an operation may return.

Each connection (a field taking `first`) may return `first` nodes (the default page size when absent, at most the
maximum page size) for each node of the connections above it; an operation's cost is that product along each path,
summed over its connections. A nested read whose cost passes the limit is refused before it runs, with its cost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from pipegraph.core.relay import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


class NodeCount:
    """Counts an operation's nodes; each fragment is counted once (its cost scales with where it is spread)."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Any) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables: Mapping[str, Any] = variables if isinstance(variables, Mapping) else {}
        self.defaults: dict[str, ValueNode | None] = {}
        self._known: dict[str, int] = {}
        self._open: set[str] = set()
        self.read_variables = False  # whether the count read a variable: if not, it is the document's alone

    def operation(self, operation: OperationDefinitionNode) -> int:
        self.defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        return self.selections(operation.selection_set, self.schema.get_root_type(operation.operation))

    def page_size(self, first: object) -> int:
        """`first` as given: a literal, a variable (its value, or its default), or nothing (None)."""
        if isinstance(first, VariableNode):
            self.read_variables = True
            name = first.name.value
            first = self.variables[name] if name in self.variables else self.defaults.get(name)
        if isinstance(first, IntValueNode):
            first = int(first.value)
        if not isinstance(first, int) or isinstance(first, bool):
            # Absent or null is the default page; anything else is refused by validation or by the resolver.
            first = DEFAULT_PAGE_SIZE
        return min(max(first, 0), MAX_PAGE_SIZE)

    def fragment(self, name: str) -> int:
        known = self._known.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self._open:  # other rules refuse unknown fragments and cycles
            return 0
        type_ = self.schema.get_type(definition.type_condition.name.value)
        self._open.add(name)
        try:
            cost = self.selections(definition.selection_set, type_)
        finally:
            self._open.discard(name)
        self._known[name] = cost
        return cost

    def selections(self, selection_set: SelectionSetNode | None, parent: Any) -> int:
        cost = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                cost += self.fragment(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self.schema.get_type(condition.name.value) if condition else parent
                cost += self.selections(selection.selection_set, type_)
            elif isinstance(selection, FieldNode) and selection.selection_set is not None:
                cost += self.field(selection, parent)
        return cost

    def field(self, node: FieldNode, parent: Any) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0  # a union selects only `__typename` directly
        definition = parent.fields.get(node.name.value)
        if definition is None:  # introspection (`__schema`): no connections, and its depth has its own rule
            return 0
        below = self.selections(node.selection_set, get_named_type(definition.type))
        if "first" not in definition.args:
            return below
        first = next((argument.value for argument in node.arguments or () if argument.name.value == "first"), None)
        return self.page_size(first) * (1 + below)


def _operation_cost(schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Any) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    return operation_cost(schema, document, operation, variables)


def operation_cost(schema: GraphQLSchema, document: Any, operation: OperationDefinitionNode, variables: Any) -> int:
    """How many nodes `operation` of `document` may return with these variables."""
    return _count(schema, document, variables).operation(operation)


def fixed_cost(schema: GraphQLSchema, document: Any, operation: OperationDefinitionNode) -> int | None:
    """The operation's cost when no variable changes it (no `first` is a variable), else None."""
    count = _count(schema, document, {})
    cost = count.operation(operation)
    return None if count.read_variables else cost


def _count(schema: GraphQLSchema, document: Any, variables: Any) -> NodeCount:
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return NodeCount(schema, fragments, variables)


class MaxQueryNodes(SchemaExtension):
    """Refuses, among the validation errors, an operation that may return more than `max_nodes` nodes.

    It runs inside validation (after the cache has validated the document), where a refusal stops queries,
    mutations and subscriptions alike before they run; it measures the operation requested, with its variables.
    """

    def __init__(self, max_nodes: int) -> None:
        super().__init__()
        self.max_nodes = max_nodes

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = validate_document(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        if not context.pre_execution_errors and context.graphql_document is not None:
            cost = _operation_cost(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables
            )
            if cost > self.max_nodes:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"This query may return {cost} nodes, more than the limit of {self.max_nodes}: ask for "
                        f"fewer with smaller `first` arguments (a connection without one counts {DEFAULT_PAGE_SIZE})",
                        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": self.max_nodes},
                    )
                ]
        yield
