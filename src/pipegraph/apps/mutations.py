from __future__ import annotations

import strawberry

from pipegraph.access.checks import authorized_app
from pipegraph.api.context import Context
from pipegraph.api.errors import UserErrorType, run_mutation
from pipegraph.api.scalars import JSON
from pipegraph.apps import service
from pipegraph.apps.types import AppType
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.teams.service import authorized_team


@strawberry.input
class CreateAppInput:
    name: str = strawberry.field(description="Lowercase letters, digits and dashes, 3 to 30, starting with a letter.")
    stack: str | None = strawberry.field(default=None, description="Defaults to the server's default stack.")
    team: str | None = strawberry.field(
        default=None, description="Team name or global ID: the team owns the app (its admins and members may)."
    )


@strawberry.type
class CreateAppPayload:
    app: AppType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.input
class SetConfigVarsInput:
    app: str = strawberry.field(description="App name or global ID.")
    vars: JSON = strawberry.field(description='Vars to set, e.g. {"LOG_LEVEL": "debug", "OLD": null}; null unsets.')


@strawberry.type
class SetConfigVarsPayload:
    app: AppType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class AppMutations:
    @strawberry.mutation(description="Create an app owned by the viewer, or by a team of theirs.")
    async def create_app(self, info: strawberry.Info[Context, None], input: CreateAppInput) -> CreateAppPayload:
        async def action() -> CreateAppPayload:
            team = await authorized_team(info.context.access, input.team, "createApp") if input.team else None
            app = await service.create_app(
                owner=info.context.viewer,
                team=team,
                name=input.name,
                stack=input.stack,
                default_stack=info.context.settings.default_stack,
            )
            return CreateAppPayload(app=AppType.from_model(app))

        return await run_mutation(CreateAppPayload, action())

    @strawberry.mutation(description="Set or unset (null) an app's config vars, all or nothing.")
    async def set_config_vars(
        self, info: strawberry.Info[Context, None], input: SetConfigVarsInput
    ) -> SetConfigVarsPayload:
        async def action() -> SetConfigVarsPayload:
            if not isinstance(input.vars, dict):
                raise DomainError(ErrorCode.INVALID_CONFIG_VAR, "vars must be an object of name to value", field="vars")
            app = await authorized_app(info.context.access, input.app, "setConfigVars")
            app = await service.set_config_vars(app, input.vars)
            return SetConfigVarsPayload(app=AppType.from_model(app))

        return await run_mutation(SetConfigVarsPayload, action())
