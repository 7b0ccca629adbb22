from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import relay

from pipegraph.access import checks
from pipegraph.access.checks import visible
from pipegraph.access.rules import Permission, PipelineRight
from pipegraph.accounts.loaders import user_by_id
from pipegraph.accounts.types import Owner, UserType, load_owner
from pipegraph.api.context import Info
from pipegraph.api.nodes import Keyset, resolve_visible
from pipegraph.api.scalars import JSON
from pipegraph.apps.loaders import app_by_id
from pipegraph.apps.models import App
from pipegraph.apps.types import AppType, CollaboratorType
from pipegraph.core.enums import describe_values
from pipegraph.core.loaders import prime_all
from pipegraph.core.relay import After, First
from pipegraph.github.types import (
    DeployType,
    RepositoryType,
    WebhookDeliveryType,
    deploys_to,
    pipeline_deliveries,
    pipeline_repository,
)
from pipegraph.pipelines.access_tab import STATIC_AUTO_JOIN, pipeline_permissions
from pipegraph.pipelines.enums import StageEnum  # noqa: F401 - registers Stage as a GraphQL enum
from pipegraph.pipelines.loaders import (
    couplings_by_pipeline,
    grants_by_pipeline,
    pipeline_by_id,
    stage_config_vars_by_pipeline,
    transfers_by_pipeline,
)
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, PipelineTransfer, Stage
from pipegraph.pipelines.ownership import foreign
from pipegraph.pipelines.service import USER_STAGES
from pipegraph.reviewapps.types import (
    ReviewAppConfigType,
    ReviewAppType,
    pipeline_review_app_config,
    pipeline_review_apps,
)
from pipegraph.teams.loaders import team_by_id
from pipegraph.teams.models import TeamKind

if TYPE_CHECKING:
    from pipegraph.ci.types import PipelineCiType, TestRunType
    from pipegraph.promotions.types import PromotionType

PIPELINES = Keyset.by_name("pipeline")

PipelineRightEnum = strawberry.enum(
    PipelineRight,
    name="PipelineRight",
    description="What the viewer may do with a pipeline: VIEW it, act as a MEMBER of its owner, or ADMINister it.",
)


async def _couplings(info: Info, pipeline_id: int) -> list[PipelineCoupling]:
    couplings = await info.context.loaders[couplings_by_pipeline].load(pipeline_id)
    # The couplings came with their apps joined in: later `app(...)` look-ups need no statement of their own.
    prime_all(info.context.loaders[app_by_id], [coupling.app for coupling in couplings], key=lambda app: app.id)
    return couplings


async def _visible_apps(info: Info, pipeline_id: int, stage: Stage | None = None) -> list[App]:
    couplings = await _couplings(info, pipeline_id)
    apps = [coupling.app for coupling in couplings if stage is None or coupling.stage == stage]
    return await visible(info.context.access, apps)


async def sees_pipeline(info: Info, pipeline: Pipeline) -> bool:
    """Whether the viewer sees `pipeline`; its apps come from the loader the nested fields use too."""
    couplings = await _couplings(info, pipeline.id)
    return await checks.sees_pipeline(info.context.access, pipeline, [coupling.app for coupling in couplings])


async def sees_pipeline_of(info: Info, row: Any) -> bool:
    """Whether the viewer sees the pipeline of `row` (a promotion, a test run): what shows such rows."""
    pipeline = await info.context.loaders[pipeline_by_id].load(row.pipeline_id)
    return pipeline is not None and await sees_pipeline(info, pipeline)


async def _seen_pipelines(info: Info, pipelines: list[Pipeline]) -> list[int]:
    return [pipeline.id for pipeline in pipelines if await sees_pipeline(info, pipeline)]


@strawberry.type(name="PipelineAccess", description="Who gets what on review and CI apps created from now on.")
class PipelineAccessType:
    auto_join: bool = strawberry.field(description="Team members join new review and CI apps (team pipelines only).")
    auto_join_permissions: list[Permission] = strawberry.field(
        description="What auto-joined team members get on new review and CI apps."
    )
    pipeline_id: strawberry.Private[int]

    @strawberry.field(description="Users granted access by hand, by email.")
    async def grants(self, info: Info) -> list[CollaboratorType]:
        return CollaboratorType.by_email(await info.context.loaders[grants_by_pipeline].load(self.pipeline_id))


@strawberry.type(name="PipelineTransfer", description="One change of a pipeline's owner.")
class PipelineTransferType:
    created_at: datetime = strawberry.field(description="When the pipeline changed owner.")
    row: strawberry.Private[PipelineTransfer]

    @strawberry.field(description="Who owned it before; null if the viewer cannot see them, or they are gone.")
    async def previous_owner(self, info: Info) -> Owner | None:
        return await _owner(info, self.row.previous_owner_user_id, self.row.previous_owner_team_id)

    @strawberry.field(description="Who owns it since; null if the viewer cannot see them, or they are gone.")
    async def new_owner(self, info: Info) -> Owner | None:
        return await _owner(info, self.row.new_owner_user_id, self.row.new_owner_team_id)

    @strawberry.field(description="Null once that user is gone.")
    async def transferred_by(self, info: Info) -> UserType | None:
        if self.row.transferred_by_id is None:
            return None
        user = await info.context.loaders[user_by_id].load(self.row.transferred_by_id)
        return UserType.from_model(user) if user else None

    @classmethod
    def from_model(cls, row: PipelineTransfer) -> PipelineTransferType:
        return cls(created_at=row.created_at, row=row)


async def _owner(info: Info, user_id: int | None, team_id: int | None) -> Any:
    if team_id is None and user_id is None:
        return None  # that owner was deleted since
    return await load_owner(info, user_id or 0, team_id)


async def _pipeline_access(info: Info, pipeline: Pipeline) -> PipelineAccessType | None:
    """For those who may manage it or work in the pipeline (its owner, team admins and members); else null."""
    if PipelineRight.MEMBER not in await info.context.access.pipeline_rights(pipeline):
        return None
    team = await info.context.loaders[team_by_id].load(pipeline.team_id) if pipeline.team_id is not None else None
    if team is None:
        shown: list[Permission] = []  # a personal pipeline has no auto-join
    elif team.kind == TeamKind.TEAM:
        shown = [permission for permission in Permission if permission in STATIC_AUTO_JOIN]
    else:
        shown = [Permission(permission) for permission in pipeline.auto_join_permissions]
    return PipelineAccessType(
        auto_join=pipeline.auto_join and team is not None, auto_join_permissions=shown, pipeline_id=pipeline.id
    )


@strawberry.type(name="PipelineStage", description="One stage of a pipeline and the apps in it.")
class PipelineStageType:
    name: Stage = strawberry.field(description="The stage.")
    pipeline_id: strawberry.Private[int]

    @strawberry.field(description="Apps in this stage that the viewer sees, by name.")
    async def apps(self, info: Info) -> list[AppType]:
        apps = await _visible_apps(info, self.pipeline_id, self.name)
        return [AppType.from_model(app) for app in sorted(apps, key=lambda app: app.name)]


@strawberry.type(name="Pipeline", description="Apps that share a codebase, grouped by delivery stage.")
class PipelineType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The pipeline's unique name.")
    created_at: datetime = strawberry.field(description="When the pipeline was created.")
    updated_at: datetime = strawberry.field(description="When the pipeline last changed.")
    model: strawberry.Private[Pipeline]

    @classmethod
    def from_model(cls, pipeline: Pipeline) -> PipelineType:
        return cls(
            id=pipeline.id,
            name=pipeline.name,
            created_at=pipeline.created_at,
            updated_at=pipeline.updated_at,
            model=pipeline,
        )

    resolve_nodes = resolve_visible(pipeline_by_id, _seen_pipelines)

    @strawberry.field(description="The person or team that owns the pipeline.")
    async def owner(self, info: Info) -> Owner:
        return await load_owner(info, self.model.owner_id, self.model.team_id)

    @strawberry.field(description="The four stages in delivery order, empty ones included.")
    def stages(self) -> list[PipelineStageType]:
        return [PipelineStageType(name=stage, pipeline_id=self.id) for stage in USER_STAGES]

    @strawberry.field(description="Promotions in this pipeline, newest first: the promotion history.")
    async def promotions(
        self, info: Info, first: First = None, after: After = None
    ) -> relay.Connection[Annotated[PromotionType, strawberry.lazy("pipegraph.promotions.types")]]:
        from pipegraph.promotions.queries import pipeline_promotions

        return await pipeline_promotions(info, self.id, first, after)

    @strawberry.field(description="Whether its pushes are tested (enableCi), and how.")
    async def ci(self, info: Info) -> Annotated[PipelineCiType, strawberry.lazy("pipegraph.ci.types")]:
        from pipegraph.ci.loaders import ci_by_pipeline
        from pipegraph.ci.types import PipelineCiType

        return PipelineCiType.from_model(await info.context.loaders[ci_by_pipeline].load(self.id))

    @strawberry.field(description="Its CI test runs, newest first.")
    async def test_runs(
        self, info: Info, first: First = None, after: After = None
    ) -> relay.Connection[Annotated[TestRunType, strawberry.lazy("pipegraph.ci.types")]]:
        from pipegraph.ci.types import pipeline_test_runs

        return await pipeline_test_runs(info, self.id, first, after)

    @strawberry.field(description="One test run by its number; null when there is none.")
    async def test_run(
        self, info: Info, number: Annotated[int, strawberry.argument(description="The run's number in this pipeline.")]
    ) -> Annotated[TestRunType, strawberry.lazy("pipegraph.ci.types")] | None:
        from pipegraph.ci.types import pipeline_test_run

        return await pipeline_test_run(info, self.id, number)

    @strawberry.field(description="Every app of the pipeline the viewer sees, whatever its stage.")
    async def apps(self, info: Info) -> list[AppType]:
        return [AppType.from_model(app) for app in await _visible_apps(info, self.id)]

    @strawberry.field(description="Apps of the pipeline not owned by its owner (Heroku highlights them), by name.")
    async def foreign_apps(self, info: Info) -> list[AppType]:
        apps = foreign([coupling.app for coupling in await _couplings(info, self.id)], self.model)
        return [AppType.from_model(app) for app in apps if await info.context.access.can_view_app(app)]

    @strawberry.field(description="The viewer's rights on the pipeline: what a client may offer them to do.")
    async def viewer_rights(self, info: Info) -> list[PipelineRight]:
        apps = [coupling.app for coupling in await _couplings(info, self.id)]
        rights = await info.context.access.pipeline_rights(self.model, apps)
        return [right for right in PipelineRight if right in rights]

    @strawberry.field(
        description="The viewer's access to its review and CI apps, from its access tab (a grant, and auto-join for "
        "team members), in Heroku's order: what a client may offer them there besides what viewerRights give "
        "(e.g. MANAGE: enable CI and cancel runs; OPERATE: start runs). Empty for those it grants nothing."
    )
    async def viewer_permissions(self, info: Info) -> list[Permission]:
        held = await pipeline_permissions(self.model, info.context.viewer)
        return [permission for permission in Permission if permission in held]

    @strawberry.field(description="Every change of owner, newest first.")
    async def transfers(self, info: Info) -> list[PipelineTransferType]:
        rows = await info.context.loaders[transfers_by_pipeline].load(self.id)
        return [PipelineTransferType.from_model(row) for row in rows]

    @strawberry.field(description="Access to its review and CI apps; null unless the viewer owns or is in its team.")
    async def access(self, info: Info) -> PipelineAccessType | None:
        return await _pipeline_access(info, self.model)

    @strawberry.field(description="When it will be deleted, its last app having left; null while it has apps.")
    def scheduled_deletion_at(self) -> datetime | None:
        return self.model.delete_at

    @strawberry.field(description="The GitHub repository it is connected to; null when none.")
    async def repository(self, info: Info) -> RepositoryType | None:
        return await pipeline_repository(info, self.id)

    @strawberry.field(
        description="How its pull requests get review apps; null until enableReviewApps, and after disableReviewApps."
    )
    async def review_app_config(self, info: Info) -> ReviewAppConfigType | None:
        return await pipeline_review_app_config(info, self.id)

    @strawberry.field(description="Its review apps, by pull request number, newest first; deleted ones too.")
    async def review_apps(
        self,
        info: Info,
        deleted: Annotated[bool, strawberry.argument(description="Include DELETED ones.")] = False,
    ) -> list[ReviewAppType]:
        return await pipeline_review_apps(info, self.id, deleted=deleted, limit=MAX_LISTED)

    @strawberry.field(description="Webhook deliveries from its repository, newest first (its admins and members).")
    async def deliveries(self, info: Info, first: First = None) -> list[WebhookDeliveryType]:
        if PipelineRight.MEMBER not in await info.context.access.pipeline_rights(self.model):
            return []
        return await pipeline_deliveries(info, self.id, _first(first))

    @strawberry.field(description="Deploys from GitHub to its apps the viewer sees, newest first.")
    async def deploys(self, info: Info, first: First = None) -> list[DeployType]:
        return await deploys_to(info, [app.id for app in await _visible_apps(info, self.id)], _first(first))

    @strawberry.field(description="A stage's config vars (REVIEW or TEST): what its new apps get (admins, members).")
    async def stage_config_vars(
        self, info: Info, stage: Annotated[Stage, strawberry.argument(description="REVIEW or TEST.")]
    ) -> JSON | None:
        if PipelineRight.MEMBER not in await info.context.access.pipeline_rights(self.model):
            return None
        return cast(JSON, await info.context.loaders[stage_config_vars_by_pipeline].load((self.id, stage)))


MAX_LISTED = 100


def _first(first: int | None) -> int:
    return max(0, min(first if first is not None else 20, MAX_LISTED))


__all__ = ["PipelineAccessType", "PipelineStageType", "PipelineTransferType", "PipelineType", "Stage"]

# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    PipelineRight,
    {
        PipelineRight.VIEW: "Sees the pipeline.",
        PipelineRight.MEMBER: "Its personal owner, or an admin or member of its team.",
        PipelineRight.ADMIN: "Its personal owner, or an admin of its team.",
    },
)
