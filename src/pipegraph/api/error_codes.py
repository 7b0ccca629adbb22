"""A code on every error a client caused, so that clients (and fuzzers) can tell a refusal from a fault.

A resolver refusing bad input (a forged cursor, an ID that is not one, a `first` over the cap) answers with an error
on its path, which GraphQL alone cannot tell from a crash. Those get `extensions.code = "BAD_USER_INPUT"` (Apollo's
name, which tools know); internal errors stay masked and carry no code.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from pipegraph.api.errors import should_mask_error

BAD_USER_INPUT = "BAD_USER_INPUT"


def label(errors: list[GraphQLError] | None) -> None:
    for error in errors or ():
        # A masked error was replaced by one with no original: only the client's own errors keep theirs.
        if error.path is None or error.original_error is None or should_mask_error(error):
            continue
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}


class LabelClientErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        label(getattr(result, "errors", None))

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        label(getattr(result, "errors", None))
        yield
