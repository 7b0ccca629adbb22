from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app, authorized_team
from pipegraph.access.rules import Permission
from pipegraph.accounts.service import get_user
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.api.scalars import JSON
from pipegraph.api.text import TEXT_ERROR_CODE
from pipegraph.apps import service
from pipegraph.apps.types import AppType, CollaboratorType, app_collaborators
from pipegraph.core.errors import DomainError, ErrorCode

APP_HELP = "App name or global ID."
USER_HELP = "The user's email or global ID."


@strawberry.input(description="A new app.")
class CreateAppInput:
    name: str = strawberry.field(description="Lowercase letters, digits and dashes, 3 to 30, starting with a letter.")
    stack: str | None = strawberry.field(default=None, description="Defaults to the server's default stack.")
    team: str | None = strawberry.field(
        default=None, description="Team name or global ID: the team owns the app (its admins and members may)."
    )


@strawberry.type(description="The result of createApp.")
class CreateAppPayload(Payload):
    app: AppType | None = strawberry.field(default=None, description="The new app; null if refused.")


@strawberry.input(description="Config vars to set or unset on an app.")
class SetConfigVarsInput:
    app: str = strawberry.field(description=APP_HELP)
    vars: JSON = strawberry.field(
        description='Vars to set, e.g. {"LOG_LEVEL": "debug", "OLD": null}; null unsets.',
        metadata={TEXT_ERROR_CODE: ErrorCode.INVALID_CONFIG_VAR},
    )


@strawberry.type(description="The result of setConfigVars.")
class SetConfigVarsPayload(Payload):
    app: AppType | None = strawberry.field(
        default=None, description="The app with its config vars after the change; null if refused."
    )


@strawberry.type
class AppMutations:
    @mutation(description="Create an app owned by the viewer, or by a team of theirs.")
    async def create_app(
        self, info: Info, input: Annotated[CreateAppInput, strawberry.argument(description="Parameters for createApp.")]
    ) -> CreateAppPayload:
        team = await authorized_team(info.context.access, input.team, "createApp") if input.team else None
        app = await service.create_app(
            owner=info.context.viewer,
            team=team,
            name=input.name,
            stack=input.stack,
            default_stack=info.context.settings.default_stack,
        )
        return CreateAppPayload(app=AppType.from_model(app))

    @mutation(description="Set or unset (null) an app's config vars, all or nothing.")
    async def set_config_vars(
        self,
        info: Info,
        input: Annotated[SetConfigVarsInput, strawberry.argument(description="Parameters for setConfigVars.")],
    ) -> SetConfigVarsPayload:
        if not isinstance(input.vars, dict):
            raise DomainError(ErrorCode.INVALID_CONFIG_VAR, "vars must be an object of name to value", field="vars")
        app = await authorized_app(info.context.access, input.app, "setConfigVars")
        app = await service.set_config_vars(app, input.vars)
        return SetConfigVarsPayload(app=AppType.from_model(app))


@strawberry.input(description="Who to give which permissions on which app.")
class AddAppCollaboratorInput:
    app: str = strawberry.field(description=APP_HELP)
    user: str = strawberry.field(description=USER_HELP)
    permissions: list[Permission] = strawberry.field(description="Replaces the user's permissions if already on it.")


@strawberry.input(description="A collaborator to take off an app.")
class RemoveAppCollaboratorInput:
    app: str = strawberry.field(description=APP_HELP)
    user: str = strawberry.field(description=USER_HELP)


@strawberry.type(description="The result of adding or removing an app collaborator.")
class AppCollaboratorPayload(Payload):
    app: AppType | None = strawberry.field(default=None, description="The app; null if refused.")
    collaborators: list[CollaboratorType] | None = strawberry.field(
        default=None, description="The app's collaborators after the change; null if refused."
    )


@strawberry.type
class AppCollaboratorMutations:
    @mutation(description="Give a user permissions on an app, or replace theirs (manage permission).")
    async def add_app_collaborator(
        self,
        info: Info,
        input: Annotated[
            AddAppCollaboratorInput, strawberry.argument(description="Parameters for addAppCollaborator.")
        ],
    ) -> AppCollaboratorPayload:
        app = await authorized_app(info.context.access, input.app, "addAppCollaborator")
        user = await get_user(input.user)
        await service.set_collaborator(app, user, input.permissions, redis_url=info.context.settings.redis_url)
        return AppCollaboratorPayload(app=AppType.from_model(app), collaborators=await app_collaborators(info, app))

    @mutation(description="Take a user's permissions on an app away (manage permission).")
    async def remove_app_collaborator(
        self,
        info: Info,
        input: Annotated[
            RemoveAppCollaboratorInput, strawberry.argument(description="Parameters for removeAppCollaborator.")
        ],
    ) -> AppCollaboratorPayload:
        app = await authorized_app(info.context.access, input.app, "removeAppCollaborator")
        user = await get_user(input.user)
        await service.remove_collaborator(app, user, redis_url=info.context.settings.redis_url)
        return AppCollaboratorPayload(app=AppType.from_model(app), collaborators=await app_collaborators(info, app))
