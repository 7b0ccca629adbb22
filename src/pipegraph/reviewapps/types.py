"""The GraphQL face of review and CI apps: they are Apps (`ephemeral: true`); only their kind is theirs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from pipegraph.access.rules import EphemeralAction, ephemeral_allows
from pipegraph.api.context import Info
from pipegraph.api.nodes import resolve_visible
from pipegraph.apps.loaders import app_by_id
from pipegraph.apps.types import AppType, sees_apps, visible_app
from pipegraph.builds.types import BuildType, visible_build
from pipegraph.core.enums import describe_values
from pipegraph.core.loaders import PageKey, prime_all
from pipegraph.reviewapps.loaders import (
    live_review_app_pages,
    review_app_by_id,
    review_app_config_by_pipeline,
    review_app_pages,
)
from pipegraph.reviewapps.models import ReviewApp, ReviewAppConfig, ReviewAppStatus
from pipegraph.reviewapps.service import EphemeralKind

EphemeralKindEnum = strawberry.enum(
    EphemeralKind, name="EphemeralAppKind", description="REVIEW apps sit in the review stage, CI apps in test."
)

# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    EphemeralKind,
    {
        EphemeralKind.REVIEW: "A review app, for a pull request.",
        EphemeralKind.CI: "A CI app, for a test run.",
    },
)


ReviewAppStatusEnum = strawberry.enum(
    ReviewAppStatus, name="ReviewAppStatus", description="Where a review app stands (Heroku's review-app statuses)."
)


@strawberry.type(name="ReviewAppConfig", description="How a pipeline's pull requests get review apps.")
class ReviewAppConfigType:
    automatic: bool = strawberry.field(description="Pull requests opened or reopened get one by themselves.")
    destroy_stale_apps: bool = strawberry.field(description="Review apps with no deploy for staleDays are destroyed.")
    stale_days: int = strawberry.field(description="Days without a deploy after which a review app is stale.")
    wait_for_ci: bool = strawberry.field(description="Build only once CI succeeded on the pull request's commit.")
    base_name: str = strawberry.field(description="Review apps are named <baseName>-pr-<number>.")

    @classmethod
    def from_model(cls, row: ReviewAppConfig) -> ReviewAppConfigType:
        return cls(
            automatic=row.automatic,
            destroy_stale_apps=row.destroy_stale_apps,
            stale_days=row.stale_days,
            wait_for_ci=row.wait_for_ci,
            base_name=row.base_name,
        )


async def _seen_review_apps(info: Info, rows: list[ReviewApp]) -> list[Any]:
    """Shown where they are listed (`pipeline { reviewApps }`): to whoever sees their pipeline."""
    from pipegraph.pipelines.types import sees_pipeline_of  # it lists review apps: imported late

    return [row.id for row in rows if await sees_pipeline_of(info, row)]


@strawberry.type(name="ReviewApp", description="A pull request's review app.")
class ReviewAppType(relay.Node):
    id: relay.NodeID[int]
    pr_number: int = strawberry.field(description="The pull request's number.")
    branch: str = strawberry.field(description="The pull request's head branch.")
    head_sha: str = strawberry.field(description="The commit it is (to be) built from; empty until looked up.")
    fork: bool = strawberry.field(description="The pull request comes from a fork (never automatic).")
    app_name: str = strawberry.field(description="<baseName>-pr-<number>, predictable for OAuth callbacks.")
    status: ReviewAppStatus = strawberry.field(description="PENDING, CREATING, CREATED, DELETING, DELETED or ERRORED.")
    message: str = strawberry.field(description="What it is doing, or what failed, with where the build log is.")
    created_at: datetime = strawberry.field(description="When it was first asked for.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    model: strawberry.Private[ReviewApp]

    @classmethod
    def from_model(cls, row: ReviewApp) -> ReviewAppType:
        return cls(
            id=row.id,
            pr_number=row.pr_number,
            branch=row.branch,
            head_sha=row.head_sha,
            fork=row.fork,
            app_name=row.app_name,
            status=row.status,
            message=row.message,
            created_at=row.created_at,
            updated_at=row.updated_at,
            model=row,
        )

    resolve_nodes = resolve_visible(review_app_by_id, _seen_review_apps)

    @strawberry.field(description="Its app, while it has one; null if the viewer cannot see it.")
    async def app(self, info: Info) -> AppType | None:
        return await visible_app(info, self.model.app_id)

    @strawberry.field(
        description="Its latest build (the build log is its output); null unless the viewer may see build "
        "information of the app (deploy, operate or manage on it: the seed's table)."
    )
    async def build(self, info: Info) -> BuildType | None:
        app_id = self.model.app_id
        app = await info.context.loaders[app_by_id].load(app_id) if app_id is not None else None
        permissions = await info.context.access.app_permissions(app) if app is not None else frozenset()
        if not ephemeral_allows(permissions, EphemeralAction.SEE_BUILD_INFORMATION):
            return None
        return await visible_build(info, app_id, self.model.build_id)

    @strawberry.field(description="What app.json's scripts.postdeploy printed, once it ran (only on the first deploy).")
    async def postdeploy_output(self, info: Info) -> str | None:
        app_id = self.model.app_id
        return (
            self.model.postdeploy_output if app_id is not None and app_id in await sees_apps(info, [app_id]) else None
        )

    @strawberry.field(description="What app.json's scripts.pr-predestroy printed before the app was destroyed.")
    def predestroy_output(self) -> str | None:
        return self.model.predestroy_output


async def pipeline_review_app_config(info: Info, pipeline_id: int) -> ReviewAppConfigType | None:
    config = await info.context.loaders[review_app_config_by_pipeline].load(pipeline_id)
    return ReviewAppConfigType.from_model(config) if config else None


async def pipeline_review_apps(info: Info, pipeline_id: int, *, deleted: bool, limit: int) -> list[ReviewAppType]:
    pages = review_app_pages if deleted else live_review_app_pages
    rows = await info.context.loaders[pages].load(PageKey(pipeline_id, limit, None))
    prime_all(info.context.loaders[review_app_by_id], rows, key=lambda row: row.id)
    return [ReviewAppType.from_model(row) for row in rows]


describe_values(
    ReviewAppStatus,
    {
        ReviewAppStatus.PENDING: "Asked for; waits for its job, or for CI.",
        ReviewAppStatus.CREATING: "Its app is being made, or its commit built.",
        ReviewAppStatus.CREATED: "Its latest commit is deployed.",
        ReviewAppStatus.DELETING: "Being destroyed (pull request closed, or stale).",
        ReviewAppStatus.DELETED: "Destroyed.",
        ReviewAppStatus.ERRORED: "Its creation or latest build failed: the message says why.",
    },
)
