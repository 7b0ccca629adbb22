"""What every mutation shares: a payload ending in `userErrors`, and a field that turns a domain refusal into them.

A mutation is then its input, its payload and the service call:

    @mutation(description="…")
    async def create_app(self, info: Info, input: CreateAppInput) -> CreateAppPayload:
        return CreateAppPayload(app=AppType.from_model(await service.create_app(…)))
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types.field import StrawberryField

from pipegraph.api.errors import UserErrorType
from pipegraph.api.text import invalid_argument_text, refusal
from pipegraph.core.errors import DomainError


class Payload:
    """Base of the mutation payloads: each gets `userErrors`, listed last in the schema, empty unless refused.

    Not a strawberry type itself (its field would come first in every payload): the field is appended to each
    subclass's own annotations as the subclass is created, before `@strawberry.type` reads them.
    """

    user_errors: list[UserErrorType]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = dict(cls.__dict__.get("__annotations__", {}))
        annotations["user_errors"] = list[UserErrorType]
        cls.__annotations__ = annotations
        cls.user_errors = strawberry.field(
            default_factory=list,
            description="Why the mutation was refused, if it was: then nothing changed. Empty on success.",
        )


class UserErrors(FieldExtension):
    """A `DomainError` raised by the resolver becomes the field's payload with only `userErrors` set.

    Text no database can store (NUL, a lone surrogate) anywhere in the arguments is refused first, naming where.
    """

    async def resolve_async(self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        try:
            invalid = invalid_argument_text(self.field, kwargs, info.schema.config.name_converter)
            if invalid is not None:
                raise refusal(invalid)
            return await next_(source, info, **kwargs)
        except DomainError as error:
            payload: Any = self.field.type
            return payload(user_errors=[UserErrorType.from_error(error)])

    def apply(self, field: StrawberryField) -> None:
        self.field = field


def mutation(*, description: str | None = None) -> StrawberryField:
    """`strawberry.mutation` whose domain refusals are returned as `userErrors` (the payload must be a Payload)."""
    field: StrawberryField = strawberry.mutation(description=description, extensions=[UserErrors()])
    return field
