"""Creating review and CI apps: the pipeline's access decides who may, and what each person gets on the app."""

from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_pipeline
from pipegraph.access.rules import EphemeralAction
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.apps.types import AppType
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.types import PipelineType
from pipegraph.reviewapps import destroy, lifecycle, service
from pipegraph.reviewapps.service import EphemeralKind
from pipegraph.reviewapps.types import (  # noqa: F401 - EphemeralKindEnum registers EphemeralKind as a GraphQL enum
    EphemeralKindEnum,
    ReviewAppConfigType,
    ReviewAppType,
)


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


@strawberry.input(description="How a pipeline's pull requests get review apps (Heroku's review-app-config).")
class EnableReviewAppsInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID; it must be connected to a repository.")
    automatic: bool = strawberry.field(
        default=False, description="Pull requests opened or reopened get a review app by themselves (never forks)."
    )
    destroy_stale_apps: bool = strawberry.field(
        default=False, description="Destroy review apps with no deploy for staleDays."
    )
    stale_days: int = strawberry.field(default=5, description="Days without a deploy before one is stale (1 to 30).")
    wait_for_ci: bool = strawberry.field(
        default=False, description="Build a pull request's commit only once CI succeeded on it."
    )
    base_name: str | None = strawberry.field(
        default=None, description="Review apps are named <baseName>-pr-<number>; default: the pipeline's name."
    )


@strawberry.input(description="The pipeline whose review apps to turn off (Heroku's DELETE of review-app-config).")
class DisableReviewAppsInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID; its review apps must be enabled.")


@strawberry.input(description="A pull request of the pipeline's repository to make a review app for, forks included.")
class CreateReviewAppInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    pull_request: int = strawberry.field(description="The pull request's number.")


@strawberry.input(description="A pull request whose review app to destroy now.")
class DeleteReviewAppInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    pull_request: int = strawberry.field(description="The pull request's number.")


@strawberry.type(description="The result of enableReviewApps.")
class EnableReviewAppsPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(default=None, description="The pipeline; null if refused.")
    config: ReviewAppConfigType | None = strawberry.field(default=None, description="The review-app config set.")


@strawberry.type(description="The result of disableReviewApps.")
class DisableReviewAppsPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(
        default=None, description="The pipeline, its reviewAppConfig now null; null if refused."
    )


@strawberry.type(description="The result of createReviewApp or deleteReviewApp: a worker does the work.")
class CreateReviewAppPayload(Payload):
    review_app: ReviewAppType | None = strawberry.field(default=None, description="The review app; null if refused.")


async def _pipeline_allowing(info: Info, reference: str, action: EphemeralAction, operation: str) -> Pipeline:
    """The pipeline, if the viewer may do `action` on its review apps (the seed's pipeline-access table)."""
    access = info.context.access

    async def may(pipeline: Pipeline) -> None:
        await service.require_ephemeral_action(access, pipeline, action, operation=operation)

    return await authorized_pipeline(access, reference, operation, check=may)


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
        settings = info.context.settings
        app = await service.create_ephemeral_app(
            pipeline,
            name=input.name,
            kind=input.kind,
            default_stack=settings.default_stack,
            redis_url=settings.redis_url,
        )
        return CreateEphemeralAppPayload(app=AppType.from_model(app))

    @mutation(description="Enable (or change) review apps on a pipeline connected to a repository.")
    async def enable_review_apps(
        self,
        info: Info,
        input: Annotated[EnableReviewAppsInput, strawberry.argument(description="Parameters for enableReviewApps.")],
    ) -> EnableReviewAppsPayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "enableReviewApps")
        config = await lifecycle.enable_review_apps(
            pipeline,
            automatic=input.automatic,
            destroy_stale_apps=input.destroy_stale_apps,
            stale_days=input.stale_days,
            wait_for_ci=input.wait_for_ci,
            base_name=input.base_name,
        )
        return EnableReviewAppsPayload(
            pipeline=PipelineType.from_model(pipeline), config=ReviewAppConfigType.from_model(config)
        )

    @mutation(
        description="Turn review apps off on a pipeline: its config goes, so pull requests get no new review app, "
        "automatic or by hand, until enableReviewApps. Existing review apps stay (Heroku's documentation is silent "
        "on them): each still rebuilds on a push and is destroyed when its pull request closes or by "
        "deleteReviewApp; none is destroyed for being stale any more."
    )
    async def disable_review_apps(
        self,
        info: Info,
        input: Annotated[DisableReviewAppsInput, strawberry.argument(description="Parameters for disableReviewApps.")],
    ) -> DisableReviewAppsPayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "disableReviewApps")
        await lifecycle.disable_review_apps(pipeline)
        return DisableReviewAppsPayload(pipeline=PipelineType.from_model(pipeline))

    @mutation(description="Make a review app for a pull request by hand (fork pull requests too).")
    async def create_review_app(
        self,
        info: Info,
        input: Annotated[CreateReviewAppInput, strawberry.argument(description="Parameters for createReviewApp.")],
    ) -> CreateReviewAppPayload:
        pipeline = await _pipeline_allowing(info, input.pipeline, EphemeralAction.CREATE_REVIEW_APPS, "createReviewApp")
        row, jobs = await lifecycle.create_review_app_by_hand(pipeline, input.pull_request, user=info.context.viewer)
        await info.context.enqueue(jobs)
        return CreateReviewAppPayload(review_app=ReviewAppType.from_model(row))

    @mutation(
        description="Destroy a review app now (scripts.pr-predestroy runs first), as closing its pull request does."
    )
    async def delete_review_app(
        self,
        info: Info,
        input: Annotated[DeleteReviewAppInput, strawberry.argument(description="Parameters for deleteReviewApp.")],
    ) -> CreateReviewAppPayload:
        pipeline = await _pipeline_allowing(info, input.pipeline, EphemeralAction.DELETE_REVIEW_APPS, "deleteReviewApp")
        row, jobs = await destroy.delete_review_app(pipeline, input.pull_request)
        await info.context.enqueue(jobs)
        return CreateReviewAppPayload(review_app=ReviewAppType.from_model(row))
