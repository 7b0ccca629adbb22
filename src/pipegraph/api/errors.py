"""The GraphQL face of domain errors: `userErrors` in payloads, and which exceptions reach clients unmasked."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from pipegraph.core.errors import ClientError, DomainError, ErrorCode
from pipegraph.db import UNAVAILABLE_MESSAGE, database_unavailable

ErrorCodeEnum = strawberry.enum(
    ErrorCode, name="ErrorCode", description="Why a mutation was refused. Stable: clients may branch on it."
)


@strawberry.type(name="UserError", description="An expected refusal of a mutation: nothing was changed.")
class UserErrorType:
    field: str | None = strawberry.field(description="The input field at fault, when one is.")
    message: str
    code: ErrorCode

    @classmethod
    def from_error(cls, error: DomainError) -> UserErrorType:
        return cls(field=error.field, message=error.message, code=error.code)


def should_mask_error(error: GraphQLError) -> bool:
    """Validation errors and our ClientErrors are meant for the client; anything else is an internal fault."""
    original = error.original_error
    # graphql-core wraps its own request errors (a bad variable, say) in another GraphQLError: unwrap to the cause.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if original is None:
        return False
    return not isinstance(original, GraphQLError | ClientError | DomainError)


class MaskInternalErrors(MaskErrors):
    """Internal faults reach clients as "Internal server error"; a database that is away for a moment is said so, with
    a code clients can retry on."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not database_unavailable(error.original_error):
            return super().anonymise_error(error)
        return GraphQLError(
            UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "DATABASE_UNAVAILABLE"},
        )
