"""A subscription event's selection answered without graphql-core, when it asks only for plain values.

A 50-target promotion burst is 250 events, each executed on its own: graphql-core's per-field path (collecting,
resolving, completing, for every field) was the largest part of what remained per event once visibility was decided
per batch. A selection that reads only fields without a resolver (attributes of the yielded value and of its nested
objects, serialized by their GraphQL scalar or enum type) and relay ids is planned once per operation, as a function
compiled for it, and each event's data is built from the value directly. Anything else (a fragment, a directive, a
field with a resolver or arguments, a response key given twice) is not planned: graphql-core executes it, as always.
Values that are not what the plan expects (a null where the schema says non-null) are executed by graphql-core too, so
its errors stay its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import partial
from keyword import iskeyword
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

BACKREF = "strawberry-definition"  # where strawberry keeps its definitions on graphql-core's (GraphQLCoreConverter)
MAX_PLANS = 512


class _NotPlanned(Exception):
    pass


class _Unexpected(Exception):
    """A value the plan cannot complete as graphql-core would (a null in a non-null field)."""


Build = Callable[[Any], Any]


@dataclass(frozen=True)
class EventPlan:
    root_key: str
    origin: type  # the yielded value's class: anything else is executed by graphql-core
    build: Build

    def data(self, value: Any) -> dict[str, Any] | None:
        """The event's data, or None when graphql-core must execute it."""
        if type(value) is not self.origin:
            return None
        try:
            return {self.root_key: self.build(value)}
        except _Unexpected:
            return None


# By operation: (the operation, kept so that its id stays its own; the plan, or None when not planned)
_plans: dict[int, tuple[OperationDefinitionNode, EventPlan | None]] = {}


def event_plan(schema: GraphQLSchema, operation: OperationDefinitionNode) -> EventPlan | None:
    cached = _plans.get(id(operation))
    if cached is not None and cached[0] is operation:
        return cached[1]
    try:
        plan = _plan_operation(schema, operation)
    except _NotPlanned:
        plan = None
    if len(_plans) >= MAX_PLANS:
        _plans.clear()  # bounded; plans are cheap to make again
    _plans[id(operation)] = (operation, plan)
    return plan


def _plan_operation(schema: GraphQLSchema, operation: OperationDefinitionNode) -> EventPlan:
    root_type = schema.subscription_type
    selections = operation.selection_set.selections
    if root_type is None or len(selections) != 1 or not isinstance(selections[0], FieldNode):
        raise _NotPlanned
    root = selections[0]
    if root.directives or root.name.value.startswith("__"):
        raise _NotPlanned
    field = root_type.fields[root.name.value]
    returned = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(field.type, GraphQLNonNull) or not isinstance(returned, GraphQLObjectType):
        raise _NotPlanned  # a nullable root field: graphql-core decides what a null makes
    definition = returned.extensions.get(BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition):
        raise _NotPlanned
    code = _Code()
    return EventPlan(_key(root), definition.origin, code.compiled(_object(code, returned, root.selection_set)))


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


class _Code:
    """A plan's builders as Python source, one function per object selection, with the values they use by name.

    Compiled once per operation, the builder reads each attribute, checks it and serializes it in straight-line
    code: the same work through a closure per field took twice as long, 250 times per burst (graphql-jit's idea, for
    the few selections planned here)."""

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.values: dict[str, Any] = {"_Unexpected": _Unexpected}

    def value(self, value: Any, kind: str = "value") -> str:
        """A name for `value` in the builders' source."""
        name = f"_{kind}{len(self.values)}"
        self.values[name] = value
        return name

    def compiled(self, builder: str) -> Build:
        namespace = dict(self.values)
        exec(compile("\n\n".join(self.functions), "<event plan>", "exec"), namespace)  # only source written here
        built: Build = namespace[builder]
        return built


def _object(code: _Code, object_type: GraphQLObjectType, selection_set: SelectionSetNode | None) -> str:
    """The name of a function building the selection's dict from an object."""
    if selection_set is None:
        raise _NotPlanned
    body: list[str] = []
    entries: dict[str, str] = {}
    for node in selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives or node.arguments:
            raise _NotPlanned
        key = _key(node)
        if key in entries:
            raise _NotPlanned  # merged by graphql-core's rules: not repeated here
        entries[key] = _field(code, object_type, node, f"v{len(entries)}", body)
    name = code.value(None, "build")  # a name of its own, bound by the definition below
    items = ", ".join(f"{key!r}: {expression}" for key, expression in entries.items())
    code.functions.append("\n".join([f"def {name}(source):", *body, f"    return {{{items}}}"]))
    return name


def _field(code: _Code, object_type: GraphQLObjectType, node: FieldNode, variable: str, body: list[str]) -> str:
    """The expression of the field's value, after `body`'s lines that read it into `variable`."""
    name = node.name.value
    if name == "__typename":
        return repr(object_type.name)
    field = object_type.fields.get(name)
    definition = field.extensions.get(BACKREF) if field is not None else None
    if field is None or not isinstance(definition, StrawberryField):
        raise _NotPlanned
    non_null = isinstance(field.type, GraphQLNonNull)
    field_type = field.type.of_type if non_null else field.type
    if name == "id" and _plain_node(object_type):
        # str(GlobalID(…)), without building one: a burst's events come five to a target, each id encoded once
        global_id = code.value(_remembered(partial(relay.to_base64, object_type.name)))
        return f"{global_id}(source.id)"
    if definition.base_resolver is not None or definition.extensions or definition.permission_classes:
        raise _NotPlanned  # a resolver, or hooks around the default one: graphql-core runs them
    attribute = definition.python_name
    if not attribute.isidentifier() or iskeyword(attribute):
        raise _NotPlanned
    body.append(f"    {variable} = source.{attribute}")
    if non_null:  # a null is graphql-core's to handle
        body.append(f"    if {variable} is None: raise _Unexpected")
    if isinstance(field_type, GraphQLScalarType | GraphQLEnumType):
        if node.selection_set is not None:
            raise _NotPlanned
        complete = code.value(_remembered(field_type.serialize))
    elif isinstance(field_type, GraphQLObjectType) and isinstance(
        field_type.extensions.get(BACKREF), StrawberryObjectDefinition
    ):
        origin = code.value(field_type.extensions[BACKREF].origin, "class")
        other_class = f"type({variable}) is not {origin}"
        if not non_null:
            other_class = f"{variable} is not None and {other_class}"
        body.append(f"    if {other_class}: raise _Unexpected")  # an object of another class: graphql-core's
        complete = _object(code, field_type, node.selection_set)
    else:
        raise _NotPlanned  # lists, interfaces, unions
    return f"{complete}({variable})" if non_null else f"None if {variable} is None else {complete}({variable})"


# Values that cannot change once made, whose serialized form can be kept: a burst's events repeat a few steps,
# statuses and numbers, and share one time (streams/promotion.py), each serialized once instead of 250 times.
_IMMUTABLE = (bool, int, float, str, datetime, date, Enum)
REMEMBERED_VALUES = 256


def _remembered(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`serialize`, remembering the last few hundred immutable values' results (by type too: 1 and True are equal)."""
    results: dict[tuple[type, Any], Any] = {}

    def remembered(value: Any) -> Any:
        if not isinstance(value, _IMMUTABLE):
            return serialize(value)
        key = (type(value), value)
        result = results.get(key, results)
        if result is results:
            if len(results) >= REMEMBERED_VALUES:
                results.clear()
            result = results[key] = serialize(value)
        return result

    return remembered


def _plain_node(object_type: GraphQLObjectType) -> bool:
    """A relay Node whose global id is its type's name and its `id` attribute (strawberry's own resolver)."""
    definition = object_type.extensions.get(BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition) or not issubclass(definition.origin, relay.Node):
        return False
    origin = definition.origin
    return (
        origin.resolve_id_attr() == "id"
        and origin.resolve_id.__func__ is relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
        and origin.resolve_typename.__func__ is relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
    )
