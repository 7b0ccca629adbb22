"""Connecting pipelines to GitHub, automatic deploys and deployBranch: one service call each."""

from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app, authorized_pipeline
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.github import deploys, service
from pipegraph.github.types import AutomaticDeployType, DeployType, RepositoryType
from pipegraph.pipelines.types import PipelineType

PIPELINE_HELP = "Pipeline name or global ID."


@strawberry.input(description="A pipeline and the GitHub repository to connect it to.")
class ConnectRepositoryInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)
    repository: str = strawberry.field(description='The repository, "owner/name".')


@strawberry.input(description="A pipeline to disconnect from its repository.")
class DisconnectRepositoryInput:
    pipeline: str = strawberry.field(description=PIPELINE_HELP)


@strawberry.input(description="An app to deploy on each push to a branch of its pipeline's repository.")
class EnableAutomaticDeploysInput:
    app: str = strawberry.field(description="App name or global ID.")
    branch: str = strawberry.field(description="The branch whose pushes deploy, e.g. main.")
    wait_for_ci: bool = strawberry.field(
        default=False, description="Deploy only once every commit status and check suite succeeded (skip if any fails)."
    )


@strawberry.input(description="An app and a branch of its pipeline's repository to deploy now.")
class DeployBranchInput:
    app: str = strawberry.field(description="App name or global ID.")
    branch: str = strawberry.field(description="The branch whose tip is deployed.")


@strawberry.type(description="The result of connectRepository: paste webhookUrl and webhookSecret into GitHub.")
class ConnectRepositoryPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(default=None, description="The pipeline; null if refused.")
    repository: RepositoryType | None = strawberry.field(default=None, description="The repository connected.")
    webhook_url: str | None = strawberry.field(
        default=None, description="Where GitHub sends its webhooks (content type application/json)."
    )
    webhook_secret: str | None = strawberry.field(
        default=None, description="The webhook's secret: shown this once, never again (connect again for a new one)."
    )


@strawberry.type(description="The result of disconnectRepository.")
class DisconnectRepositoryPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(default=None, description="The pipeline; null if refused.")


@strawberry.type(description="The result of enableAutomaticDeploys.")
class EnableAutomaticDeploysPayload(Payload):
    automatic_deploy: AutomaticDeployType | None = strawberry.field(
        default=None, description="The app's automatic deploys; null if refused."
    )


@strawberry.type(description="The result of deployBranch: the deploy runs in a worker.")
class DeployBranchPayload(Payload):
    deploy: DeployType | None = strawberry.field(default=None, description="The deploy, queued; null if refused.")


@strawberry.type
class GitHubMutations:
    @mutation(description="Connect a pipeline to a GitHub repository (review apps, automatic deploys and CI need it).")
    async def connect_repository(
        self,
        info: Info,
        input: Annotated[ConnectRepositoryInput, strawberry.argument(description="Parameters for connectRepository.")],
    ) -> ConnectRepositoryPayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "connectRepository")
        connection, secret = await service.connect_repository(pipeline, input.repository, user=info.context.viewer)
        return ConnectRepositoryPayload(
            pipeline=PipelineType.from_model(pipeline),
            repository=RepositoryType.from_model(connection),
            webhook_url=f"{info.context.settings.public_url}{service.WEBHOOK_PATH}",
            webhook_secret=secret,
        )

    @mutation(description="Disconnect a pipeline from its repository: its webhooks are refused from then on.")
    async def disconnect_repository(
        self,
        info: Info,
        input: Annotated[
            DisconnectRepositoryInput, strawberry.argument(description="Parameters for disconnectRepository.")
        ],
    ) -> DisconnectRepositoryPayload:
        pipeline = await authorized_pipeline(info.context.access, input.pipeline, "disconnectRepository")
        await service.disconnect_repository(pipeline)
        return DisconnectRepositoryPayload(pipeline=PipelineType.from_model(pipeline))

    @mutation(description="Deploy an app on each push to a branch of its pipeline's repository.")
    async def enable_automatic_deploys(
        self,
        info: Info,
        input: Annotated[
            EnableAutomaticDeploysInput, strawberry.argument(description="Parameters for enableAutomaticDeploys.")
        ],
    ) -> EnableAutomaticDeploysPayload:
        app = await authorized_app(info.context.access, input.app, "enableAutomaticDeploys")
        chosen = await deploys.enable_automatic_deploys(app, branch=input.branch, wait_for_ci=input.wait_for_ci)
        return EnableAutomaticDeploysPayload(automatic_deploy=AutomaticDeployType.from_model(chosen))

    @mutation(description="Deploy the tip of a branch of the app's pipeline repository now (the Deploy Branch button).")
    async def deploy_branch(
        self,
        info: Info,
        input: Annotated[DeployBranchInput, strawberry.argument(description="Parameters for deployBranch.")],
    ) -> DeployBranchPayload:
        app = await authorized_app(info.context.access, input.app, "deployBranch")
        deploy, jobs = await deploys.deploy_branch(app, branch=input.branch, user=info.context.viewer)
        await info.context.enqueue(jobs)
        return DeployBranchPayload(deploy=DeployType.from_model(deploy))
