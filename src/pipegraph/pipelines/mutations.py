from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry import relay

from pipegraph.access.checks import authorized_app, authorized_pipeline, authorized_team, require_unnamed_app
from pipegraph.access.rules import Permission
from pipegraph.accounts.service import get_user
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.api.scalars import JSON
from pipegraph.api.text import TEXT_ERROR_CODE
from pipegraph.apps.types import AppType
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.pipelines import access_tab, ownership, service, stage_config
from pipegraph.pipelines.types import PipelineTransferType, PipelineType

STAGE_HELP = "REVIEW, DEVELOPMENT, STAGING or PRODUCTION (any case)."
PIPELINE_HELP = "Pipeline name or global ID."
USER_HELP = "The user's email or global ID."


@strawberry.input(description="A new pipeline around an existing app.")
class CreatePipelineInput:
    name: str = strawberry.field(
        description="The pipeline's name: lowercase letters, digits and dashes, 3 to 30, starting with a letter."
    )
    app: str = strawberry.field(description="The app that starts the pipeline (name or global ID).")
    stage: str | None = strawberry.field(
        default=None,
        description=f"{STAGE_HELP} Defaults to a guess from the app name's suffix, as Heroku's CLI does.",
    )
    team: str | None = strawberry.field(
        default=None, description="Team name or global ID: the team owns the pipeline (its admins and members may)."
    )


@strawberry.input(description="A pipeline and its new name.")
class RenamePipelineInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    name: str = strawberry.field(
        description="The new name: lowercase letters, digits and dashes, 3 to 30, starting with a letter."
    )


@strawberry.input(description="A pipeline to destroy.")
class DestroyPipelineInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)


@strawberry.input(description="An app to add to a pipeline, and its stage.")
class AddAppToPipelineInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    app: str = strawberry.field(description="App name or global ID.")
    stage: str = strawberry.field(description=STAGE_HELP)


@strawberry.input(description="An app to take out of its pipeline.")
class RemoveAppFromPipelineInput:
    app: str = strawberry.field(description="App name or global ID.")


@strawberry.input(description="An app of a pipeline and the stage to move it to.")
class MoveAppToStageInput:
    app: str = strawberry.field(description="App name or global ID.")
    stage: str = strawberry.field(description=STAGE_HELP)


@strawberry.type(description="The result of creating or renaming a pipeline.")
class PipelinePayload(Payload):
    pipeline: PipelineType | None = strawberry.field(
        default=None, description="The pipeline after the change; null if refused."
    )


@strawberry.type(description="The result of destroyPipeline.")
class DestroyPipelinePayload(Payload):
    destroyed_pipeline_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The global ID the destroyed pipeline had; null if refused."
    )


@strawberry.type(description="The result of adding, moving or removing an app of a pipeline.")
class PipelineAppPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(
        default=None, description="The pipeline after the change; null if refused or the app left it."
    )
    app: AppType | None = strawberry.field(default=None, description="The app after the change; null if refused.")


@strawberry.input(description="Config vars of a pipeline's stage: what its new review (or CI) apps get.")
class SetStageConfigVarsInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    stage: str = strawberry.field(description="REVIEW or TEST (any case).")
    vars: JSON = strawberry.field(
        description="Names to values; a null value removes that var.",
        metadata={TEXT_ERROR_CODE: ErrorCode.INVALID_CONFIG_VAR},
    )


@strawberry.type(description="The result of setStageConfigVars.")
class SetStageConfigVarsPayload(Payload):
    vars: JSON | None = strawberry.field(default=None, description="The stage's config vars after the change.")


@strawberry.type
class PipelineMutations:
    @mutation(description="Create a pipeline around an existing app, owned by the viewer or a team of theirs.")
    async def create_pipeline(
        self,
        info: Info,
        input: Annotated[CreatePipelineInput, strawberry.argument(description="Parameters for createPipeline.")],
    ) -> PipelinePayload:
        app = await authorized_app(info.context.access, input.app, "createPipeline")
        team = await authorized_team(info.context.access, input.team, "createPipeline") if input.team else None
        pipeline, _ = await service.create_pipeline(
            owner=info.context.viewer, name=input.name, app=app, stage=input.stage, team=team
        )
        return PipelinePayload(pipeline=PipelineType.from_model(pipeline))

    @mutation(description="Set or remove config vars of a pipeline's REVIEW or TEST stage (Heroku: dashboard only).")
    async def set_stage_config_vars(
        self,
        info: Info,
        input: Annotated[
            SetStageConfigVarsInput, strawberry.argument(description="Parameters for setStageConfigVars.")
        ],
    ) -> SetStageConfigVarsPayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "setStageConfigVars")
        if not isinstance(input.vars, dict):
            raise DomainError(ErrorCode.INVALID_CONFIG_VAR, "vars must be an object of names to values", field="vars")
        values = await stage_config.set_stage_config_vars(pipeline, input.stage, input.vars)
        return SetStageConfigVarsPayload(vars=cast(JSON, values))

    @mutation(description="Rename a pipeline (its owner or a team admin).")
    async def rename_pipeline(
        self,
        info: Info,
        input: Annotated[RenamePipelineInput, strawberry.argument(description="Parameters for renamePipeline.")],
    ) -> PipelinePayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "renamePipeline")
        pipeline = await service.rename_pipeline(pipeline, input.name)
        return PipelinePayload(pipeline=PipelineType.from_model(pipeline))

    @mutation(description="Destroy a pipeline; its apps stay, outside any pipeline.")
    async def destroy_pipeline(
        self,
        info: Info,
        input: Annotated[DestroyPipelineInput, strawberry.argument(description="Parameters for destroyPipeline.")],
    ) -> DestroyPipelinePayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "destroyPipeline")
        pipeline_id = pipeline.id
        await service.destroy_pipeline(pipeline)
        return DestroyPipelinePayload(destroyed_pipeline_id=relay.GlobalID("Pipeline", str(pipeline_id)))

    @mutation(description="Add an app that is in no pipeline to a stage of this one.")
    async def add_app_to_pipeline(
        self,
        info: Info,
        input: Annotated[AddAppToPipelineInput, strawberry.argument(description="Parameters for addAppToPipeline.")],
    ) -> PipelineAppPayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "addAppToPipeline")
        app = await authorized_app(info.context.access, input.app, "addAppToPipeline")
        await service.add_app(pipeline, app, input.stage)
        return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

    @mutation(description="Take an app out of its pipeline; the app itself stays.")
    async def remove_app_from_pipeline(
        self,
        info: Info,
        input: Annotated[
            RemoveAppFromPipelineInput, strawberry.argument(description="Parameters for removeAppFromPipeline.")
        ],
    ) -> PipelineAppPayload:
        app = await authorized_app(info.context.access, input.app, "removeAppFromPipeline")
        pipeline = await service.remove_app(app, empty_grace=info.context.settings.empty_pipeline_grace)
        return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

    @mutation(description="Move an app to another stage of its pipeline.")
    async def move_app_to_stage(
        self,
        info: Info,
        input: Annotated[MoveAppToStageInput, strawberry.argument(description="Parameters for moveAppToStage.")],
    ) -> PipelineAppPayload:
        app = await authorized_app(info.context.access, input.app, "moveAppToStage")
        coupling = await service.move_app(app, input.stage)
        pipeline = await coupling.pipeline
        return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))


# The access tab and ownership --------------------------------------------------------------------------------------


@strawberry.input(description="A manual grant on the pipeline's access tab.")
class GrantPipelineAccessInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    user: str = strawberry.field(description=USER_HELP)
    permissions: list[Permission] = strawberry.field(description="On review and CI apps created from now on.")


@strawberry.input(description="A manual grant to withdraw from the pipeline's access tab.")
class RevokePipelineAccessInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    user: str = strawberry.field(description=USER_HELP)


@strawberry.input(description="The pipeline's auto-join setting.")
class UpdatePipelineAutoJoinInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    enabled: bool = strawberry.field(description="Whether team members join its new review and CI apps by themselves.")
    permissions: list[Permission] | None = strawberry.field(default=None, description="Unchanged when null.")


@strawberry.input(one_of=True, description="Exactly one: a team, or a person.")
class NewOwnerInput:
    team: str | None = strawberry.field(default=strawberry.UNSET, description="Team name or global ID.")
    user: str | None = strawberry.field(default=strawberry.UNSET, description=USER_HELP)


@strawberry.input(description="A pipeline and its new owner.")
class TransferPipelineInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    new_owner: NewOwnerInput = strawberry.field(description="The team or person to give it to.")


@strawberry.input(description="A pipeline whose foreign apps go to its owner.")
class TransferAppsToPipelineOwnerInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)


@strawberry.type(description="The result of a change to a pipeline's access tab.")
class AccessPipelinePayload(Payload):
    pipeline: PipelineType | None = strawberry.field(
        default=None, description="The pipeline, its access as it now stands; null if refused."
    )


@strawberry.type(description="The result of transferPipeline.")
class TransferPipelinePayload(Payload):
    pipeline: PipelineType | None = strawberry.field(
        default=None, description="The pipeline under its new owner; null if refused."
    )
    transfer: PipelineTransferType | None = strawberry.field(
        default=None, description="The recorded transfer; null if refused."
    )


@strawberry.type(description="The result of transferAppsToPipelineOwner.")
class TransferAppsPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(
        default=None, description="The pipeline after the transfer; null if refused."
    )
    transferred_apps: list[AppType] | None = strawberry.field(
        default=None, description="The apps that changed owner; null if refused."
    )


@strawberry.type
class PipelineAccessMutations:
    @mutation(description="Give a user permissions on the pipeline's review and CI apps created from now on.")
    async def grant_pipeline_access(
        self,
        info: Info,
        input: Annotated[
            GrantPipelineAccessInput, strawberry.argument(description="Parameters for grantPipelineAccess.")
        ],
    ) -> AccessPipelinePayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "grantPipelineAccess")
        user = await get_user(input.user)
        await access_tab.grant(pipeline, user, input.permissions, redis_url=info.context.settings.redis_url)
        return AccessPipelinePayload(pipeline=PipelineType.from_model(pipeline))

    @mutation(description="Withdraw a manual grant; review and CI apps that exist keep their permissions.")
    async def revoke_pipeline_access(
        self,
        info: Info,
        input: Annotated[
            RevokePipelineAccessInput, strawberry.argument(description="Parameters for revokePipelineAccess.")
        ],
    ) -> AccessPipelinePayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "revokePipelineAccess")
        user = await get_user(input.user)
        await access_tab.revoke(pipeline, user, redis_url=info.context.settings.redis_url)
        return AccessPipelinePayload(pipeline=PipelineType.from_model(pipeline))

    @mutation(description="Turn auto-join on or off, or change its permissions (Enterprise Teams only).")
    async def update_pipeline_auto_join(
        self,
        info: Info,
        input: Annotated[
            UpdatePipelineAutoJoinInput, strawberry.argument(description="Parameters for updatePipelineAutoJoin.")
        ],
    ) -> AccessPipelinePayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "updatePipelineAutoJoin")
        await access_tab.update_auto_join(pipeline, enabled=input.enabled, permissions=input.permissions)
        return AccessPipelinePayload(pipeline=PipelineType.from_model(pipeline))


@strawberry.type
class PipelineOwnershipMutations:
    @mutation(
        description="Give the pipeline, with the apps its owner held, to a new owner, by Heroku's rules: a person's "
        "pipeline to a team they are in, a team's pipeline to one of its members, never person to person."
    )
    async def transfer_pipeline(
        self,
        info: Info,
        input: Annotated[TransferPipelineInput, strawberry.argument(description="Parameters for transferPipeline.")],
    ) -> TransferPipelinePayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "transferPipeline")
        team = user = None
        if input.new_owner.team:  # a team the viewer is not in stays unseen
            team = await authorized_team(info.context.access, input.new_owner.team, None, field="newOwner")
        elif input.new_owner.user:
            user = await get_user(input.new_owner.user, field="newOwner")
        record = await ownership.transfer_pipeline(pipeline, by=info.context.viewer, to_user=user, to_team=team)
        return TransferPipelinePayload(
            pipeline=PipelineType.from_model(pipeline),
            transfer=PipelineTransferType.from_model(record),
        )

    @mutation(description="Give the pipeline owner every app of the pipeline it does not own, all or none.")
    async def transfer_apps_to_pipeline_owner(
        self,
        info: Info,
        input: Annotated[
            TransferAppsToPipelineOwnerInput,
            strawberry.argument(description="Parameters for transferAppsToPipelineOwner."),
        ],
    ) -> TransferAppsPayload:
        access = info.context.access
        pipeline = await authorized_pipeline(access, input.pipeline, "transferAppsToPipelineOwner")
        apps = ownership.foreign(await ownership.pipeline_apps(pipeline), pipeline)
        for app in apps:  # an app the viewer cannot see is not named
            refusal = "the pipeline has apps you cannot manage: their owners must transfer them"
            await require_unnamed_app(
                access, app, "transferAppsToPipelineOwner", refusal=refusal, refusal_field="pipeline"
            )
        moved = await ownership.transfer_apps_to_owner(pipeline, apps)
        return TransferAppsPayload(
            pipeline=PipelineType.from_model(pipeline), transferred_apps=[AppType.from_model(a) for a in moved]
        )
