"""The GraphQL face of domain errors: `userErrors` in payloads, and which exceptions reach clients unmasked."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

import strawberry
from graphql import GraphQLError

from pipegraph.core.errors import ClientError, DomainError, ErrorCode


@strawberry.type(name="UserError", description="An expected refusal of a mutation: nothing was changed.")
class UserErrorType:
    field: str | None = strawberry.field(description="The input field at fault, when one is.")
    message: str
    code: ErrorCode

    @classmethod
    def from_error(cls, error: DomainError) -> UserErrorType:
        return cls(field=error.field, message=error.message, code=error.code)


class Payload(Protocol):
    user_errors: list[UserErrorType]


P = TypeVar("P")


async def run_mutation(payload: type[P], action: Awaitable[P]) -> P:
    """Run a mutation's service call; a domain refusal becomes `userErrors` instead of an exception."""
    try:
        return await action
    except DomainError as error:
        return payload(user_errors=[UserErrorType.from_error(error)])  # type: ignore[call-arg]


def should_mask_error(error: GraphQLError) -> bool:
    """Validation errors and our ClientErrors are meant for the client; anything else is an internal fault."""
    original = error.original_error
    # graphql-core wraps its own request errors (a bad variable, say) in another GraphQLError: unwrap to the cause.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if original is None:
        return False
    return not isinstance(original, GraphQLError | ClientError | DomainError)
