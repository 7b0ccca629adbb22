from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.accounts import service
from pipegraph.accounts.types import ApiTokenType
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.core.relay import NO_ROW_ID, db_id


@strawberry.input(description="A new API token for the viewer.")
class CreateApiTokenInput:
    description: str = strawberry.field(default="", description="What the token is for, up to 200 characters.")


@strawberry.type(description="The result of createApiToken: the secret, shown this once.")
class CreateApiTokenPayload(Payload):
    token: str | None = strawberry.field(default=None, description="The secret: shown this once, never again.")
    api_token: ApiTokenType | None = strawberry.field(
        default=None, description="The new token's record (never its secret); null if refused."
    )


@strawberry.input(description="A token of the viewer's to revoke.")
class RevokeApiTokenInput:
    id: relay.GlobalID = strawberry.field(description="The ApiToken's global ID.")


@strawberry.type(description="The result of revokeApiToken.")
class RevokeApiTokenPayload(Payload):
    api_token: ApiTokenType | None = strawberry.field(default=None, description="The revoked token; null if refused.")


@strawberry.type
class AccountMutations:
    @mutation(description="Create an API token for the viewer; the payload's `token` is its only showing.")
    async def create_api_token(
        self,
        info: Info,
        input: Annotated[CreateApiTokenInput, strawberry.argument(description="Parameters for createApiToken.")],
    ) -> CreateApiTokenPayload:
        await info.context.access.require("createApiToken")
        token, secret = await service.create_token(info.context.viewer, description=input.description)
        return CreateApiTokenPayload(token=secret, api_token=ApiTokenType.from_model(token))

    @mutation(
        description="Revoke one of the viewer's tokens: it fails at once, also on open WebSockets. Safe to repeat."
    )
    async def revoke_api_token(
        self,
        info: Info,
        input: Annotated[RevokeApiTokenInput, strawberry.argument(description="Parameters for revokeApiToken.")],
    ) -> RevokeApiTokenPayload:
        await info.context.access.require("revokeApiToken")
        token_id = db_id(input.id.node_id) if input.id.type_name == "ApiToken" else NO_ROW_ID
        token = await service.revoke_token(
            token_id, user=info.context.viewer, named=input.id, redis_url=info.context.settings.redis_url
        )
        return RevokeApiTokenPayload(api_token=ApiTokenType.from_model(token))
