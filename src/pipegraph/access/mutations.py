"""Collaborators, the pipeline access tab, ephemeral apps and ownership transfers: each checks RULES, then calls a
service; a refusal is a `userErrors` entry and changes nothing."""

from __future__ import annotations

import strawberry

from pipegraph.access import ownership, service
from pipegraph.access.checks import authorized_app, authorized_pipeline
from pipegraph.access.models import Permission
from pipegraph.access.service import EphemeralKind
from pipegraph.access.types import CollaboratorType, PipelineTransferType, app_collaborators
from pipegraph.accounts.service import get_user
from pipegraph.api.context import Context
from pipegraph.api.errors import UserErrorType, run_mutation
from pipegraph.apps.types import AppType
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.relay import parse_ref
from pipegraph.pipelines.service import get_pipeline
from pipegraph.pipelines.types import PipelineType
from pipegraph.teams.service import get_team

APP_HELP = "App name or global ID."
PIPELINE_HELP = "Pipeline name or global ID."
USER_HELP = "The user's email or global ID."


# Inputs and payloads ------------------------------------------------------------------------------------------


@strawberry.input
class AddAppCollaboratorInput:
    app: str = strawberry.field(description=APP_HELP)
    user: str = strawberry.field(description=USER_HELP)
    permissions: list[Permission] = strawberry.field(description="Replaces the user's permissions if already on it.")


@strawberry.input
class RemoveAppCollaboratorInput:
    app: str = strawberry.field(description=APP_HELP)
    user: str = strawberry.field(description=USER_HELP)


@strawberry.type
class AppCollaboratorPayload:
    app: AppType | None = None
    collaborators: list[CollaboratorType] | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.input
class GrantPipelineAccessInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    user: str = strawberry.field(description=USER_HELP)
    permissions: list[Permission] = strawberry.field(description="On review and CI apps created from now on.")


@strawberry.input
class RevokePipelineAccessInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    user: str = strawberry.field(description=USER_HELP)


@strawberry.input
class UpdatePipelineAutoJoinInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    enabled: bool
    permissions: list[Permission] | None = strawberry.field(default=None, description="Unchanged when null.")


@strawberry.input
class CreateEphemeralAppInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    name: str
    kind: EphemeralKind


@strawberry.input(one_of=True, description="Exactly one: a team, or a person.")
class NewOwnerInput:
    team: str | None = strawberry.field(default=strawberry.UNSET, description="Team name or global ID.")
    user: str | None = strawberry.field(default=strawberry.UNSET, description=USER_HELP)


@strawberry.input
class TransferPipelineInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    new_owner: NewOwnerInput


@strawberry.input
class TransferAppsToPipelineOwnerInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)


@strawberry.type
class AccessPipelinePayload:
    pipeline: PipelineType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class CreateEphemeralAppPayload:
    app: AppType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class TransferPipelinePayload:
    pipeline: PipelineType | None = None
    transfer: PipelineTransferType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class TransferAppsPayload:
    pipeline: PipelineType | None = None
    transferred_apps: list[AppType] | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


# Mutations ----------------------------------------------------------------------------------------------------


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Give a user permissions on an app, or replace theirs (manage permission).")
    async def add_app_collaborator(
        self, info: strawberry.Info[Context, None], input: AddAppCollaboratorInput
    ) -> AppCollaboratorPayload:
        async def action() -> AppCollaboratorPayload:
            app = await authorized_app(info.context.access, input.app, "addAppCollaborator")
            user = await get_user(input.user)
            await service.set_collaborator(app, user, input.permissions)
            return AppCollaboratorPayload(app=AppType.from_model(app), collaborators=await app_collaborators(info, app))

        return await run_mutation(AppCollaboratorPayload, action())

    @strawberry.mutation(description="Take a user's permissions on an app away (manage permission).")
    async def remove_app_collaborator(
        self, info: strawberry.Info[Context, None], input: RemoveAppCollaboratorInput
    ) -> AppCollaboratorPayload:
        async def action() -> AppCollaboratorPayload:
            app = await authorized_app(info.context.access, input.app, "removeAppCollaborator")
            user = await get_user(input.user)
            await service.remove_collaborator(app, user)
            return AppCollaboratorPayload(app=AppType.from_model(app), collaborators=await app_collaborators(info, app))

        return await run_mutation(AppCollaboratorPayload, action())

    @strawberry.mutation(
        description="Give a user permissions on the pipeline's review and CI apps created from now on."
    )
    async def grant_pipeline_access(
        self, info: strawberry.Info[Context, None], input: GrantPipelineAccessInput
    ) -> AccessPipelinePayload:
        async def action() -> AccessPipelinePayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "grantPipelineAccess")
            user = await get_user(input.user)
            await service.grant(pipeline, user, input.permissions)
            return AccessPipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(AccessPipelinePayload, action())

    @strawberry.mutation(description="Withdraw a manual grant; review and CI apps that exist keep their permissions.")
    async def revoke_pipeline_access(
        self, info: strawberry.Info[Context, None], input: RevokePipelineAccessInput
    ) -> AccessPipelinePayload:
        async def action() -> AccessPipelinePayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "revokePipelineAccess")
            user = await get_user(input.user)
            await service.revoke(pipeline, user)
            return AccessPipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(AccessPipelinePayload, action())

    @strawberry.mutation(description="Turn auto-join on or off, or change its permissions (Enterprise Teams only).")
    async def update_pipeline_auto_join(
        self, info: strawberry.Info[Context, None], input: UpdatePipelineAutoJoinInput
    ) -> AccessPipelinePayload:
        async def action() -> AccessPipelinePayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "updatePipelineAutoJoin")
            await service.update_auto_join(pipeline, enabled=input.enabled, permissions=input.permissions)
            return AccessPipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(AccessPipelinePayload, action())

    @strawberry.mutation(
        description="Create a review or CI app under the pipeline owner, with the pipeline's access as it is now."
    )
    async def create_ephemeral_app(
        self, info: strawberry.Info[Context, None], input: CreateEphemeralAppInput
    ) -> CreateEphemeralAppPayload:
        async def action() -> CreateEphemeralAppPayload:
            pipeline = await get_pipeline(input.pipeline)
            try:
                await service.require_create_ephemeral(info.context.access, pipeline, input.kind)
            except NotFound:
                raise NotFound("pipeline", parse_ref(input.pipeline, "Pipeline"), field="pipeline") from None
            app = await service.create_ephemeral_app(
                pipeline, name=input.name, kind=input.kind, default_stack=info.context.settings.default_stack
            )
            return CreateEphemeralAppPayload(app=AppType.from_model(app))

        return await run_mutation(CreateEphemeralAppPayload, action())

    @strawberry.mutation(
        description="Give the pipeline, with the apps its owner held, to a new owner, by Heroku's rules: a person's "
        "pipeline to a team they are in, a team's pipeline to one of its members, never person to person."
    )
    async def transfer_pipeline(
        self, info: strawberry.Info[Context, None], input: TransferPipelineInput
    ) -> TransferPipelinePayload:
        async def action() -> TransferPipelinePayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "transferPipeline")
            team = user = None
            if input.new_owner.team:
                team = await get_team(input.new_owner.team, field="newOwner")
                if await info.context.access.team_role(team.id) is None:  # a team the viewer is not in stays unseen
                    raise NotFound("team", parse_ref(input.new_owner.team, "Team"), field="newOwner")
            elif input.new_owner.user:
                user = await get_user(input.new_owner.user, field="newOwner")
            record = await ownership.transfer_pipeline(pipeline, by=info.context.viewer, to_user=user, to_team=team)
            return TransferPipelinePayload(
                pipeline=PipelineType.from_model(pipeline),
                transfer=PipelineTransferType(created_at=record.created_at, row=record),
            )

        return await run_mutation(TransferPipelinePayload, action())

    @strawberry.mutation(description="Give the pipeline owner every app of the pipeline it does not own, all or none.")
    async def transfer_apps_to_pipeline_owner(
        self, info: strawberry.Info[Context, None], input: TransferAppsToPipelineOwnerInput
    ) -> TransferAppsPayload:
        async def action() -> TransferAppsPayload:
            access = info.context.access
            pipeline = await authorized_pipeline(access, input.pipeline, "transferAppsToPipelineOwner")
            apps = ownership.foreign(await ownership.pipeline_apps(pipeline), pipeline)
            for app in apps:
                try:
                    await access.require("transferAppsToPipelineOwner", app=app)
                except NotFound:  # an app the viewer cannot see is not named
                    raise DomainError(
                        ErrorCode.FORBIDDEN,
                        "the pipeline has apps you cannot manage: their owners must transfer them",
                        field="pipeline",
                    ) from None
            moved = await ownership.transfer_apps_to_owner(pipeline, apps)
            return TransferAppsPayload(
                pipeline=PipelineType.from_model(pipeline), transferred_apps=[AppType.from_model(a) for a in moved]
            )

        return await run_mutation(TransferAppsPayload, action())
