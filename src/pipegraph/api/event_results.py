"""A subscription event's selection, executed once per distinct (document, variables, viewer's rights) and shared.

A thousand sockets following one promotion used to run each event's GraphQL selection a thousand times, although
those with the same selection and the same rights get the same answer. The first to execute one stores the result
(while it runs, the others wait for it), and the others, within half a second (BURST_SECONDS), are handed a copy
instead of executing again. Each subscriber still decides on its own whether to receive the event at all (the
subscription's checks, its token's check before the send), in its own order; only the selection's execution is
shared.

An event is shared only when the value the subscription yields says what it is (`shared_as`: everything the
selection can read of it), so two events share a result only when they are the same event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import ExecutionResult, OperationDefinitionNode

from pipegraph.api.burst_share import BurstShare

Execute = Callable[[], ExecutionResult | Awaitable[ExecutionResult]]

_results: BurstShare[ExecutionResult] = BurstShare()


def shared_as(root_value: Any) -> tuple[Any, ...] | None:
    """What identifies the event a subscription yielded, or None when it is not shared."""
    value = getattr(root_value, "shared_as", None)
    return value if isinstance(value, tuple) else None


async def execute_shared(
    operation: OperationDefinitionNode, variables: dict[str, Any], context: Any, event: tuple[Any, ...], run: Execute
) -> ExecutionResult:
    """`run`'s result for this event, or a copy of the one another subscriber with the same selection, variables and
    rights got for it."""
    rights = await context.access.rights()  # the subscription read them for its own checks: no statement here
    key = (id(operation), repr(sorted(variables.items())), rights.key, event)

    async def execute() -> ExecutionResult:
        result = run()
        return result if isinstance(result, ExecutionResult) else await result

    # The operation is kept with the result, so that no other document's operation can take its id meanwhile.
    result, executed = await _results.get(key, execute, keep=operation)
    return result if executed else _copy(result)


def _copy(result: ExecutionResult) -> ExecutionResult:
    # The data is only serialized, never changed; the errors list is replaced by error masking: each gets its own.
    return ExecutionResult(data=result.data, errors=list(result.errors) if result.errors else None)
