from __future__ import annotations

import strawberry
from strawberry import relay

from pipegraph.access.checks import authorized_app, authorized_pipeline
from pipegraph.api.context import Context
from pipegraph.api.errors import UserErrorType, run_mutation
from pipegraph.apps.types import AppType
from pipegraph.pipelines import service
from pipegraph.pipelines.types import PipelineType
from pipegraph.teams.service import authorized_team

STAGE_HELP = "REVIEW, DEVELOPMENT, STAGING or PRODUCTION (any case)."


@strawberry.input
class CreatePipelineInput:
    name: str
    app: str = strawberry.field(description="The app that starts the pipeline (name or global ID).")
    stage: str | None = strawberry.field(
        default=None,
        description=f"{STAGE_HELP} Defaults to a guess from the app name's suffix, as Heroku's CLI does.",
    )
    team: str | None = strawberry.field(
        default=None, description="Team name or global ID: the team owns the pipeline (its admins and members may)."
    )


@strawberry.input
class RenamePipelineInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    name: str


@strawberry.input
class DestroyPipelineInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")


@strawberry.input
class AddAppToPipelineInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    app: str = strawberry.field(description="App name or global ID.")
    stage: str = strawberry.field(description=STAGE_HELP)


@strawberry.input
class RemoveAppFromPipelineInput:
    app: str = strawberry.field(description="App name or global ID.")


@strawberry.input
class MoveAppToStageInput:
    app: str = strawberry.field(description="App name or global ID.")
    stage: str = strawberry.field(description=STAGE_HELP)


@strawberry.type
class PipelinePayload:
    pipeline: PipelineType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class DestroyPipelinePayload:
    destroyed_pipeline_id: relay.GlobalID | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class PipelineAppPayload:
    pipeline: PipelineType | None = None
    app: AppType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class PipelineMutations:
    @strawberry.mutation(
        description="Create a pipeline around an existing app, owned by the viewer or a team of theirs."
    )
    async def create_pipeline(
        self, info: strawberry.Info[Context, None], input: CreatePipelineInput
    ) -> PipelinePayload:
        async def action() -> PipelinePayload:
            app = await authorized_app(info.context.access, input.app, "createPipeline")
            team = await authorized_team(info.context.access, input.team, "createPipeline") if input.team else None
            pipeline, _ = await service.create_pipeline(
                owner=info.context.viewer, name=input.name, app=app, stage=input.stage, team=team
            )
            return PipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(PipelinePayload, action())

    @strawberry.mutation
    async def rename_pipeline(
        self, info: strawberry.Info[Context, None], input: RenamePipelineInput
    ) -> PipelinePayload:
        async def action() -> PipelinePayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "renamePipeline")
            pipeline = await service.rename_pipeline(pipeline, input.name)
            return PipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(PipelinePayload, action())

    @strawberry.mutation(description="Destroy a pipeline; its apps stay, outside any pipeline.")
    async def destroy_pipeline(
        self, info: strawberry.Info[Context, None], input: DestroyPipelineInput
    ) -> DestroyPipelinePayload:
        async def action() -> DestroyPipelinePayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "destroyPipeline")
            pipeline_id = pipeline.id
            await service.destroy_pipeline(pipeline)
            return DestroyPipelinePayload(destroyed_pipeline_id=relay.GlobalID("Pipeline", str(pipeline_id)))

        return await run_mutation(DestroyPipelinePayload, action())

    @strawberry.mutation
    async def add_app_to_pipeline(
        self, info: strawberry.Info[Context, None], input: AddAppToPipelineInput
    ) -> PipelineAppPayload:
        async def action() -> PipelineAppPayload:
            pipeline = await authorized_pipeline(info.context.access, input.pipeline, "addAppToPipeline")
            app = await authorized_app(info.context.access, input.app, "addAppToPipeline")
            await service.add_app(pipeline, app, input.stage)
            return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

        return await run_mutation(PipelineAppPayload, action())

    @strawberry.mutation(description="Take an app out of its pipeline; the app itself stays.")
    async def remove_app_from_pipeline(
        self, info: strawberry.Info[Context, None], input: RemoveAppFromPipelineInput
    ) -> PipelineAppPayload:
        async def action() -> PipelineAppPayload:
            app = await authorized_app(info.context.access, input.app, "removeAppFromPipeline")
            pipeline = await service.remove_app(app)
            return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

        return await run_mutation(PipelineAppPayload, action())

    @strawberry.mutation
    async def move_app_to_stage(
        self, info: strawberry.Info[Context, None], input: MoveAppToStageInput
    ) -> PipelineAppPayload:
        async def action() -> PipelineAppPayload:
            app = await authorized_app(info.context.access, input.app, "moveAppToStage")
            coupling = await service.move_app(app, input.stage)
            pipeline = await coupling.pipeline
            return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

        return await run_mutation(PipelineAppPayload, action())
