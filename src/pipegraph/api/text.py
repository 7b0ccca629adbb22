"""Every string a client sends is checked once, before anything runs: NUL or a lone surrogate is refused, naming
where it was, and nothing changes.

No domain has to remember it: a mutation's arguments are checked by the `mutation` field (a `userErrors` entry, like
any refusal), every other operation's arguments, literal or variable, by the `TextArguments` schema extension (one
request error). Finer rules (lengths, names, emails) stay with the services; this only keeps what no database,
environment variable or command line can hold from ever reaching them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.name_converter import NameConverter
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.text import text_problem

# An input field may say which code its bad text is reported with (config vars keep INVALID_CONFIG_VAR).
TEXT_ERROR_CODE = "pipegraph.text_error_code"


@dataclass(frozen=True)
class InvalidText:
    path: str  # where exactly: `commit`, `newOwner.user`, `vars.LOG_LEVEL`, `to[2]`
    problem: str
    code: ErrorCode = ErrorCode.INVALID

    @property
    def message(self) -> str:
        return f"{self.path} {self.problem}"


def _in_plain(value: object, path: str) -> Iterator[tuple[str, str]]:
    """(path, problem) for each bad string in a plain value: a string, a list, or a JSON object's keys and values."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield path, problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_problem = text_problem(key) if isinstance(key, str) else None
            if key_problem is not None:
                yield path, f"has a key that {key_problem}"  # the key itself is not echoed: it is what is wrong
            else:
                yield from _in_plain(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _in_plain(item, f"{path}[{index}]")


def _in_arguments(value: object, path: str, names: NameConverter, code: ErrorCode) -> Iterator[InvalidText]:
    """Bad strings in a resolver's argument as strawberry hands it over: input objects named by their GraphQL names."""
    definition = get_object_definition(value) if not isinstance(value, type | Enum) else None
    if definition is not None and definition.is_input:
        for field in definition.fields:
            field_code = field.metadata.get(TEXT_ERROR_CODE, code)
            where = f"{path}.{names.get_graphql_name(field)}"
            yield from _in_arguments(getattr(value, field.python_name, None), where, names, field_code)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _in_arguments(item, f"{path}[{index}]", names, code)
    else:
        for where, problem in _in_plain(value, path):
            yield InvalidText(where, problem, code)


def invalid_argument_text(
    field: StrawberryField, kwargs: Mapping[str, Any], names: NameConverter
) -> InvalidText | None:
    """The first bad string among a field's arguments; a mutation's `input.` is left out of the path."""
    for argument in field.arguments:
        name = names.get_graphql_name(argument)
        for invalid in _in_arguments(kwargs.get(argument.python_name), name, names, ErrorCode.INVALID):
            if invalid.path.startswith("input."):
                return InvalidText(invalid.path.removeprefix("input."), invalid.problem, invalid.code)
            return invalid
    return None


def refusal(invalid: InvalidText) -> DomainError:
    """As a domain refusal, its field the top-level input field at fault (the `userErrors` convention)."""
    field = invalid.path.split(".")[0].split("[")[0]
    return DomainError(invalid.code, invalid.message, field=field)


# Operations other than mutations: the document's literal arguments and the variables they use -------------------


def _in_literal(node: ValueNode, path: str, variables: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    if isinstance(node, StringValueNode):
        problem = text_problem(node.value)
        if problem is not None:
            yield path, problem
    elif isinstance(node, VariableNode):
        variables.setdefault(node.name.value, []).append(path)
    elif isinstance(node, ListValueNode):
        for index, item in enumerate(node.values):
            yield from _in_literal(item, f"{path}[{index}]", variables)
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            yield from _in_literal(field.value, f"{path}.{field.name.value}", variables)


class _Arguments:
    """Walks the selections an operation runs, each fragment once (a fragment spread twice is not walked twice)."""

    def __init__(self, document: DocumentNode, skip_root: bool) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.skip_root = skip_root  # a mutation's own fields: checked by the mutation field, as userErrors
        self.seen: set[tuple[str, bool]] = set()
        self.variables: dict[str, list[str]] = {}  # variable name → the argument paths it is used at

    def walk(self, selections: SelectionSetNode | None, root: bool) -> Iterator[tuple[str, str]]:
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                if not (root and self.skip_root):
                    for argument in selection.arguments or ():
                        yield from _in_literal(argument.value, argument.name.value, self.variables)
                yield from self.walk(selection.selection_set, root=False)
            elif isinstance(selection, InlineFragmentNode):
                yield from self.walk(selection.selection_set, root)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and (fragment.name.value, root) not in self.seen:
                    self.seen.add((fragment.name.value, root))
                    yield from self.walk(fragment.selection_set, root)


class OperationText:
    """What an operation's text check learns from its document alone, once: the first bad literal string, and where
    each variable is used. `invalid(variables)` is then the check for one request."""

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        self.mutation = operation.operation == OperationType.MUTATION
        arguments = _Arguments(document, skip_root=self.mutation)
        self.literal = next(
            (InvalidText(path, problem) for path, problem in arguments.walk(operation.selection_set, root=True)), None
        )
        self.uses = arguments.variables if self.literal is None else {}

    def invalid(self, variables: Mapping[str, Any]) -> InvalidText | None:
        """The first bad string the operation would hand a resolver, by the argument it is given to."""
        if self.literal is not None:
            return self.literal
        for name, value in variables.items():
            uses = self.uses.get(name)
            if uses is None and self.mutation:
                continue  # used by the mutation itself (or by nothing): the mutation field reports it
            for path, problem in _in_plain(value, f"${name}"):
                return InvalidText(path.replace(f"${name}", uses[0], 1) if uses else path, problem)
        return None


def invalid_operation_text(
    document: DocumentNode, operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> InvalidText | None:
    """The first bad string the operation would hand a resolver, by the argument it is given to."""
    return OperationText(document, operation).invalid(variables)


class TextArguments(SchemaExtension):
    """Refuses, before execution, an operation whose arguments hold a string no database can store."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = operation_of(document, context.operation_name) if document else None
        if document is not None and operation is not None and context.result is None:
            variables = context.variables if isinstance(context.variables, Mapping) else {}
            invalid = invalid_operation_text(document, operation, variables)
            if invalid is not None:
                error = GraphQLError(f"argument {invalid.message}", extensions={"argument": invalid.path})
                if operation.operation == OperationType.SUBSCRIPTION:
                    raise error  # strawberry ignores a result set here for a subscription, but reports this
                context.result = ExecutionResult(data=None, errors=[error])
        yield


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request names, or its document's first (graphql-core's choice)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None or (operation.name is not None and operation.name.value == name):
            return operation
    return None
