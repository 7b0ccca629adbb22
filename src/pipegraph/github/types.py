"""The GraphQL face of GitHub: a pipeline's repository, its webhook deliveries, automatic deploys and deploys."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from pipegraph.accounts.types import UserType, visible_user
from pipegraph.api.context import Info
from pipegraph.api.nodes import resolve_visible
from pipegraph.apps.types import AppType, seen_through_their_app, visible_app
from pipegraph.builds.types import BuildType, visible_build
from pipegraph.core.enums import describe_values
from pipegraph.core.loaders import PageKey, prime_all
from pipegraph.github.loaders import (
    DeliveryPageKey,
    connection_by_pipeline,
    delivery_pages,
    deploy_by_id,
    deploy_pages,
)
from pipegraph.github.models import (
    AutomaticDeploy,
    DeliveryOutcome,
    Deploy,
    DeployStatus,
    RepositoryConnection,
    WebhookDelivery,
)

DeliveryOutcomeEnum = strawberry.enum(
    DeliveryOutcome, name="WebhookDeliveryOutcome", description="What became of a webhook delivery."
)
DeployStatusEnum = strawberry.enum(DeployStatus, name="DeployStatus", description="How a deploy from GitHub stands.")


@strawberry.type(name="GitHubRepository", description="The GitHub repository a pipeline is connected to.")
class RepositoryType:
    full_name: str = strawberry.field(description="owner/name, lowercased.")
    connected_at: datetime = strawberry.field(description="When the pipeline was connected to it.")

    @classmethod
    def from_model(cls, row: RepositoryConnection) -> RepositoryType:
        return cls(full_name=row.full_name, connected_at=row.created_at)


@strawberry.type(name="WebhookDelivery", description="A verified webhook delivery from GitHub, and what it did.")
class WebhookDeliveryType:
    delivery_id: str = strawberry.field(description="GitHub's X-GitHub-Delivery.")
    event: str = strawberry.field(description="GitHub's X-GitHub-Event: push, pull_request, status, …")
    action: str | None = strawberry.field(description="The payload's action, when it has one.")
    received: datetime = strawberry.field(description="When it arrived.")
    outcome: DeliveryOutcome = strawberry.field(description="QUEUED, PROCESSED, IGNORED or FAILED.")
    message: str = strawberry.field(description="What it did, or why nothing happened.")

    @classmethod
    def from_model(cls, row: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            delivery_id=row.delivery_id,
            event=row.event,
            action=row.action,
            received=row.received_at,
            outcome=row.outcome,
            message=row.message,
        )


@strawberry.type(name="AutomaticDeploy", description="An app deployed on each push to a branch of its repository.")
class AutomaticDeployType:
    branch: str = strawberry.field(description="The branch whose pushes deploy.")
    wait_for_ci: bool = strawberry.field(description="Deploy only once every status and check suite succeeded.")

    @classmethod
    def from_model(cls, row: AutomaticDeploy) -> AutomaticDeployType:
        return cls(branch=row.branch, wait_for_ci=row.wait_for_ci)


@strawberry.type(name="Deploy", description="A deploy of a branch's commit from GitHub, automatic or by hand.")
class DeployType(relay.Node):
    id: relay.NodeID[int]
    branch: str = strawberry.field(description="The branch deployed.")
    sha: str | None = strawberry.field(description="The commit; null until a manual deploy resolved its branch.")
    status: DeployStatus = strawberry.field(description="Where it stands.")
    message: str = strawberry.field(description="What it is doing, or why it stopped.")
    created_at: datetime = strawberry.field(description="When it was asked for.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    model: strawberry.Private[Deploy]

    @classmethod
    def from_model(cls, row: Deploy) -> DeployType:
        return cls(
            id=row.id,
            branch=row.branch,
            sha=row.sha,
            status=row.status,
            message=row.message,
            created_at=row.created_at,
            updated_at=row.updated_at,
            model=row,
        )

    # Shown where it is listed (`pipeline { deploys }`): to whoever sees its app.
    resolve_nodes = resolve_visible(deploy_by_id, seen_through_their_app)

    @strawberry.field(
        description="Who asked for it with deployBranch, when the viewer meets them; null for an automatic deploy "
        "(see githubActor)."
    )
    async def actor(self, info: Info) -> UserType | None:
        return await visible_user(info, self.model.created_by_id)

    @strawberry.field(
        description="The GitHub login of who pushed, for an automatic deploy (GitHub's accounts are not pipegraph "
        "users); null for a deploy by hand."
    )
    def github_actor(self) -> str | None:
        return self.model.actor_login

    @strawberry.field(description="The app deployed to; null if the viewer cannot see it.")
    async def app(self, info: Info) -> AppType | None:
        return await visible_app(info, self.model.app_id)

    @strawberry.field(description="Its build, once it started; null if the viewer cannot see its app.")
    async def build(self, info: Info) -> BuildType | None:
        return await visible_build(info, self.model.app_id, self.model.build_id)


async def pipeline_repository(info: Info, pipeline_id: int) -> RepositoryType | None:
    connection = await info.context.loaders[connection_by_pipeline].load(pipeline_id)
    return RepositoryType.from_model(connection) if connection else None


async def pipeline_deliveries(info: Info, pipeline_id: int, limit: int) -> list[WebhookDeliveryType]:
    """The newest deliveries from the pipeline's repository (the caller decides who may read them)."""
    connection = await info.context.loaders[connection_by_pipeline].load(pipeline_id)
    if connection is None:
        return []
    key = DeliveryPageKey(pipeline_id, connection.full_name, limit)
    return [WebhookDeliveryType.from_model(row) for row in await info.context.loaders[delivery_pages].load(key)]


async def deploys_to(info: Info, app_ids: list[int], limit: int) -> list[DeployType]:
    """The newest deploys to these apps (those the viewer sees of a pipeline): each app's newest `limit`, from one
    statement for every pipeline of the response, merged, and the newest `limit` of them kept."""
    pages = await info.context.loaders[deploy_pages].load_many([PageKey(app_id, limit, None) for app_id in app_ids])
    rows = sorted((row for page in pages for row in page), key=lambda row: row.id, reverse=True)[:limit]
    prime_all(info.context.loaders[deploy_by_id], rows, key=lambda row: row.id)
    return [DeployType.from_model(row) for row in rows]


describe_values(
    DeliveryOutcome,
    {
        DeliveryOutcome.QUEUED: "Recorded; its job has not run yet.",
        DeliveryOutcome.PROCESSED: "It started work (a deploy, a review app, …).",
        DeliveryOutcome.IGNORED: "Nothing to do: the message says why.",
        DeliveryOutcome.FAILED: "Its handling failed: the message says why.",
    },
)
describe_values(
    DeployStatus,
    {
        DeployStatus.WAITING_FOR_CI: "Waits for every commit status and check suite of its commit to succeed.",
        DeployStatus.BUILDING: "Its build or release phase runs.",
        DeployStatus.SUCCEEDED: "Released.",
        DeployStatus.FAILED: "Its build or release phase failed, or GitHub could not be reached.",
        DeployStatus.SKIPPED: "CI failed on its commit, or none reported on it in time: not deployed.",
        DeployStatus.SUPERSEDED: "A newer push to the branch came while it waited.",
    },
)
