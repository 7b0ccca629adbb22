"""A subscription event's selection answered without graphql-core, when it asks only for plain values.

A 50-target promotion burst is 250 events, each executed on its own: graphql-core's per-field path (collecting,
resolving, completing, for every field) was the largest part of what remained per event once visibility was decided
per batch. A selection that reads only fields without a resolver (attributes of the yielded value and of its nested
objects, serialized by their GraphQL scalar or enum type) and relay ids is planned once per operation, and each event's
data is built from the value directly. Anything else (a fragment, a directive, a field with a resolver or arguments, a
response key given twice) is not planned: graphql-core executes it, as always. Values that are not what the plan
expects (a null where the schema says non-null) are executed by graphql-core too, so its errors stay its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
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
    return EventPlan(_key(root), definition.origin, _object(returned, root.selection_set))


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _object(object_type: GraphQLObjectType, selection_set: SelectionSetNode | None) -> Build:
    if selection_set is None:
        raise _NotPlanned
    items: list[tuple[str, Build]] = []
    for node in selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives or node.arguments:
            raise _NotPlanned
        key = _key(node)
        if any(key == taken for taken, _ in items):
            raise _NotPlanned  # merged by graphql-core's rules: not repeated here
        items.append((key, _field(object_type, node)))

    def build(source: Any) -> dict[str, Any]:
        return {key: read(source) for key, read in items}

    return build


def _field(object_type: GraphQLObjectType, node: FieldNode) -> Build:
    name = node.name.value
    if name == "__typename":
        type_name = object_type.name
        return lambda source: type_name
    field = object_type.fields.get(name)
    definition = field.extensions.get(BACKREF) if field is not None else None
    if field is None or not isinstance(definition, StrawberryField):
        raise _NotPlanned
    non_null = isinstance(field.type, GraphQLNonNull)
    field_type = field.type.of_type if non_null else field.type
    if name == "id" and _plain_node(object_type):
        type_name = object_type.name
        return lambda source: relay.to_base64(type_name, source.id)  # str(GlobalID(…)), without building one
    if definition.base_resolver is not None or definition.extensions or definition.permission_classes:
        raise _NotPlanned  # a resolver, or hooks around the default one: graphql-core runs them
    attribute = definition.python_name
    if isinstance(field_type, GraphQLScalarType | GraphQLEnumType):
        serialize = field_type.serialize
        if node.selection_set is not None:
            raise _NotPlanned
        return _leaf(attribute, serialize, non_null)
    if isinstance(field_type, GraphQLObjectType) and isinstance(
        field_type.extensions.get(BACKREF), StrawberryObjectDefinition
    ):
        origin = field_type.extensions[BACKREF].origin
        return _nested(attribute, origin, _object(field_type, node.selection_set), non_null)
    raise _NotPlanned  # lists, interfaces, unions


def _leaf(attribute: str, serialize: Callable[[Any], Any], non_null: bool) -> Build:
    return _read(attribute, _remembered(serialize), non_null, None)


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


def _nested(attribute: str, origin: type, build: Build, non_null: bool) -> Build:
    return _read(attribute, build, non_null, origin)


def _read(attribute: str, complete: Build, non_null: bool, origin: type | None) -> Build:
    """The attribute's value completed; a null or (`origin`) an object of another class is graphql-core's to handle."""

    def read(source: Any) -> Any:
        value = getattr(source, attribute)
        if value is None:
            if non_null:
                raise _Unexpected
            return None
        if origin is not None and type(value) is not origin:
            raise _Unexpected
        return complete(value)

    return read


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
