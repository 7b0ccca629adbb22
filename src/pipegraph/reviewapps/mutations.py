"""Creating review and CI apps: the pipeline's access decides who may, and what each person gets on the app."""

from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_pipeline
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.apps.types import AppType
from pipegraph.pipelines.models import Pipeline
from pipegraph.reviewapps import service
from pipegraph.reviewapps.service import EphemeralKind
from pipegraph.reviewapps.types import EphemeralKindEnum  # noqa: F401 - registers EphemeralKind as a GraphQL enum


@strawberry.input(description="A new review or CI app of a pipeline.")
class CreateEphemeralAppInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    name: str = strawberry.field(
        description="The app's name: lowercase letters, digits and dashes, 3 to 30, starting with a letter."
    )
    kind: EphemeralKind = strawberry.field(description="REVIEW or CI: the stage it goes in, and which access it gets.")


@strawberry.type(description="The result of createEphemeralApp.")
class CreateEphemeralAppPayload(Payload):
    app: AppType | None = strawberry.field(default=None, description="The new review or CI app; null if refused.")


@strawberry.type
class ReviewAppMutations:
    @mutation(
        description="Create a review or CI app under the pipeline owner, with the pipeline's access as it is now."
    )
    async def create_ephemeral_app(
        self,
        info: Info,
        input: Annotated[
            CreateEphemeralAppInput, strawberry.argument(description="Parameters for createEphemeralApp.")
        ],
    ) -> CreateEphemeralAppPayload:
        access = info.context.access

        async def may_create(pipeline: Pipeline) -> None:
            await service.require_create_ephemeral(access, pipeline, input.kind)

        pipeline = await authorized_pipeline(access, input.pipeline, "createEphemeralApp", check=may_create)
        app = await service.create_ephemeral_app(
            pipeline, name=input.name, kind=input.kind, default_stack=info.context.settings.default_stack
        )
        return CreateEphemeralAppPayload(app=AppType.from_model(app))
