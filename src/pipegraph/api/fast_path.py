"""A fast path for queries whose document was already parsed and validated once without error.

strawberry parses (cached), checks the operation type, validates (cached) and runs a dozen extension hooks on every
request: at the dashboard's size that per-request work was a fifth of the request. A document is the same text every
time a client sends it, so what depends on the text alone is decided once: its parse, the token limit, every
validation rule (depth, aliases, fields, the introspection rule) and its operation's type. A query sent again then
goes straight to graphql-core's executor, after the checks that depend on the request: the operation types the
request allows, the node cost with this request's variables, the text of its arguments.

Anything else takes strawberry's whole path, unchanged: a new or invalid document (never remembered), a mutation or
a subscription, a request that a per-request check refuses (so the refusal is strawberry's, word for word). A query
answered with errors has them logged, labelled and masked by the schema's own extensions, as on the whole path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.types.execution import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from pipegraph.api.context import Context
from pipegraph.api.cost import fixed_cost, operation_cost
from pipegraph.api.metrics import observe_execution, record_operation
from pipegraph.api.text import OperationText, operation_of

# Documents differ by client and version, not by request: a few hundred cover every client; more is an abuse, and
# clearing the lot then bounds memory while every document still works (through the whole path first).
MAX_KNOWN_DOCUMENTS = 512


@dataclass(frozen=True)
class KnownQuery:
    document: DocumentNode
    operation: OperationDefinitionNode
    # What the per-request checks learn from the document alone: its node cost when no variable changes it, and its
    # literal strings and variables' uses (api/text.py).
    cost: int | None
    text: OperationText

    @classmethod
    def of(cls, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) -> KnownQuery:
        return cls(document, operation, fixed_cost(schema, document, operation), OperationText(document, operation))


class KnownDocuments:
    """(document text, operation name) → a query that passed parsing and validation. Bounded."""

    def __init__(self, max_size: int = MAX_KNOWN_DOCUMENTS) -> None:
        self.max_size = max_size
        self._known: dict[tuple[str, str | None], KnownQuery] = {}

    def get(self, query: str, operation_name: str | None) -> KnownQuery | None:
        return self._known.get((query, operation_name))

    def remember(self, query: str, operation_name: str | None, known: KnownQuery) -> None:
        if len(self._known) >= self.max_size:
            self._known.clear()
        self._known[(query, operation_name)] = known

    def clear(self) -> None:
        self._known.clear()

    def __len__(self) -> int:
        return len(self._known)


class RememberValidQueries(SchemaExtension):
    """Remembers a query once the whole path validated it without error (every rule and limit, the cost included).

    Listed last among the schema's extensions, so that its check comes after every other validation hook's."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        schema = context.schema
        if (
            isinstance(schema, FastPathSchema)
            and not context.pre_execution_errors
            and context.query is not None
            and context.graphql_document is not None
            and context.operation_type == OperationType.QUERY
        ):
            operation = operation_of(context.graphql_document, context._provided_operation_name)
            if operation is not None:
                known = KnownQuery.of(schema._schema, context.graphql_document, operation)
                schema.known.remember(context.query, context._provided_operation_name, known)


class FastPathSchema(Schema):
    """strawberry's Schema, answering queries it has validated before without parsing, validating or running the
    extensions' hooks again.

    `max_nodes` is the node cost limit (api/cost.py), checked on every request since variables change it;
    `error_extensions` are the extensions that handle a result's errors (labels, masking), run when there are some.
    """

    def __init__(
        self,
        *args: Any,
        max_nodes: int,
        error_extensions: Iterable[Callable[[], SchemaExtension]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.known = KnownDocuments()
        self.max_nodes = max_nodes
        self.error_extensions = list(error_extensions)
        # The fast path calls graphql-core without middleware or directive hooks: only while there are none.
        instances = [e if isinstance(e, SchemaExtension) else e() for e in self.extensions]
        self.fast_path_enabled = not self.directives and not any(e._implements_resolve() for e in instances)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        known = self.known.get(query, operation_name) if query and self.fast_path_enabled else None
        if known is not None and self.may_run(known, variable_values, allowed_operation_types):
            return await self._execute_known(
                known, query, variable_values, context_value, root_value, operation_name, operation_extensions
            )
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )

    def may_run(
        self,
        known: KnownQuery,
        variables: Mapping[str, Any] | None,
        allowed_operation_types: Iterable[OperationType] | None,
    ) -> bool:
        """The checks that depend on the request; a refusal is left to the whole path, which words it."""
        if allowed_operation_types is not None and OperationType.QUERY not in allowed_operation_types:
            return False
        variables = variables if isinstance(variables, Mapping) else {}
        cost = known.cost
        if cost is None:
            cost = operation_cost(self._schema, known.document, known.operation, variables)
        if cost > self.max_nodes:
            return False
        return known.text.invalid(variables) is None

    async def _execute_known(
        self,
        known: KnownQuery,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        started = time.perf_counter()
        # What ContextPerOperation does on the whole path: a fresh context, and a query's preloaded rights.
        if isinstance(context_value, Context):
            context_value = context_value.for_operation()
            context_value.use_preloaded_rights()
        execution_context = self.observed(
            known, query, variable_values, context_value, operation_name, root_value, operation_extensions
        )
        try:
            result = await self._run(execution_context, known)
        finally:
            record_operation(execution_context, time.perf_counter() - started)
        return result

    def observed(
        self,
        known: KnownQuery,
        query: str | None,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        operation_name: str | None,
        root_value: Any | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionContext:
        """The execution context of a known query about to run, its start observed (the logs' operation and viewer);
        `record_operation` it once it ran."""
        execution_context = ExecutionContext(
            query=query,
            schema=self,
            allowed_operations=(OperationType.QUERY,),
            context=context_value,
            root_value=root_value,
            variables=variable_values,
            provided_operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        execution_context.graphql_document = known.document
        execution_context.pre_execution_errors = []
        observe_execution(execution_context)
        return execution_context

    async def _run(self, execution_context: ExecutionContext, known: KnownQuery) -> ExecutionResult:
        executed = self._get_execute_function()(
            self._schema,
            known.document,
            root_value=execution_context.root_value,
            variable_values=execution_context.variables,
            operation_name=execution_context.operation_name,
            context_value=execution_context.context,
            is_awaitable=optimized_is_awaitable,
            **execution_context_class_kwargs(self.execution_context_class),
            **self._get_custom_context_kwargs(execution_context.operation_extensions),
        )
        if optimized_is_awaitable(executed):
            executed = await executed
        assert isinstance(executed, GraphQLExecutionResult)
        result = ExecutionResult(data=executed.data, errors=executed.errors, extensions={})
        execution_context.result = result
        if result.errors:
            # As on the whole path: logged before they are masked, then labelled and masked by the same extensions.
            execution_context.pre_execution_errors = result.errors
            self._process_errors(result.errors, execution_context)
            runner = self.create_extensions_runner(
                execution_context, [extension() for extension in self.error_extensions]
            )
            for extension in runner.extensions:
                extension.execution_context = execution_context
            async with runner.operation():
                pass
        return result
