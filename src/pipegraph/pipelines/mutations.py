from __future__ import annotations

import strawberry
from strawberry import relay

from pipegraph.api.context import Context
from pipegraph.api.errors import UserErrorType, run_mutation
from pipegraph.apps.service import get_app
from pipegraph.apps.types import AppType
from pipegraph.pipelines import service
from pipegraph.pipelines.types import PipelineType

STAGE_HELP = "REVIEW, DEVELOPMENT, STAGING or PRODUCTION (any case)."


@strawberry.input
class CreatePipelineInput:
    name: str
    app: str = strawberry.field(description="The app that starts the pipeline (name or global ID).")
    stage: str | None = strawberry.field(
        default=None,
        description=f"{STAGE_HELP} Defaults to a guess from the app name's suffix, as Heroku's CLI does.",
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
    @strawberry.mutation(description="Create a pipeline around an existing app, owned by the viewer.")
    async def create_pipeline(
        self, info: strawberry.Info[Context, None], input: CreatePipelineInput
    ) -> PipelinePayload:
        async def action() -> PipelinePayload:
            app = await get_app(input.app)
            pipeline, _ = await service.create_pipeline(
                owner=info.context.viewer, name=input.name, app=app, stage=input.stage
            )
            return PipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(PipelinePayload, action())

    @strawberry.mutation
    async def rename_pipeline(self, input: RenamePipelineInput) -> PipelinePayload:
        async def action() -> PipelinePayload:
            pipeline = await service.get_pipeline(input.pipeline)
            pipeline = await service.rename_pipeline(pipeline, input.name)
            return PipelinePayload(pipeline=PipelineType.from_model(pipeline))

        return await run_mutation(PipelinePayload, action())

    @strawberry.mutation(description="Destroy a pipeline; its apps stay, outside any pipeline.")
    async def destroy_pipeline(self, input: DestroyPipelineInput) -> DestroyPipelinePayload:
        async def action() -> DestroyPipelinePayload:
            pipeline = await service.get_pipeline(input.pipeline)
            pipeline_id = pipeline.id
            await service.destroy_pipeline(pipeline)
            return DestroyPipelinePayload(destroyed_pipeline_id=relay.GlobalID("Pipeline", str(pipeline_id)))

        return await run_mutation(DestroyPipelinePayload, action())

    @strawberry.mutation
    async def add_app_to_pipeline(self, input: AddAppToPipelineInput) -> PipelineAppPayload:
        async def action() -> PipelineAppPayload:
            pipeline = await service.get_pipeline(input.pipeline)
            app = await get_app(input.app)
            await service.add_app(pipeline, app, input.stage)
            return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

        return await run_mutation(PipelineAppPayload, action())

    @strawberry.mutation(description="Take an app out of its pipeline; the app itself stays.")
    async def remove_app_from_pipeline(self, input: RemoveAppFromPipelineInput) -> PipelineAppPayload:
        async def action() -> PipelineAppPayload:
            app = await get_app(input.app)
            pipeline = await service.remove_app(app)
            return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

        return await run_mutation(PipelineAppPayload, action())

    @strawberry.mutation
    async def move_app_to_stage(self, input: MoveAppToStageInput) -> PipelineAppPayload:
        async def action() -> PipelineAppPayload:
            app = await get_app(input.app)
            coupling = await service.move_app(app, input.stage)
            pipeline = await coupling.pipeline
            return PipelineAppPayload(pipeline=PipelineType.from_model(pipeline), app=AppType.from_model(app))

        return await run_mutation(PipelineAppPayload, action())
