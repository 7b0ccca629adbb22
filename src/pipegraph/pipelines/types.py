from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from pipegraph.access import checks
from pipegraph.access.checks import visible
from pipegraph.accounts.types import Owner, int_ids, load_owner
from pipegraph.api.context import Context
from pipegraph.apps.models import App
from pipegraph.apps.types import AppType
from pipegraph.core.loaders import prime_all
from pipegraph.pipelines.enums import StageEnum  # noqa: F401 - registers Stage as a GraphQL enum
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
from pipegraph.pipelines.service import USER_STAGES

if TYPE_CHECKING:
    from pipegraph.access.types import PipelineAccessType, PipelineTransferType
    from pipegraph.promotions.types import PromotionType


async def _couplings(info: strawberry.Info[Context, None], pipeline_id: int) -> list[PipelineCoupling]:
    couplings = await info.context.loaders.couplings_by_pipeline.load(pipeline_id)
    # The couplings came with their apps joined in: later `app(...)` look-ups need no statement of their own.
    prime_all(info.context.loaders.app_by_id, [coupling.app for coupling in couplings], key=lambda app: app.id)
    return couplings


async def _visible_apps(
    info: strawberry.Info[Context, None], pipeline_id: int, stage: Stage | None = None
) -> list[App]:
    couplings = await _couplings(info, pipeline_id)
    apps = [coupling.app for coupling in couplings if stage is None or coupling.stage == stage]
    return await visible(info.context.access, apps)


async def sees_pipeline(info: strawberry.Info[Context, None], pipeline: Pipeline) -> bool:
    """Whether the viewer sees `pipeline`; its apps come from the loader the nested fields use too."""
    couplings = await _couplings(info, pipeline.id)
    return await checks.sees_pipeline(info.context.access, pipeline, [coupling.app for coupling in couplings])


@strawberry.type(name="PipelineStage", description="One stage of a pipeline and the apps in it.")
class PipelineStageType:
    name: Stage
    pipeline_id: strawberry.Private[int]

    @strawberry.field(description="Apps in this stage that the viewer sees, by name.")
    async def apps(self, info: strawberry.Info[Context, None]) -> list[AppType]:
        apps = await _visible_apps(info, self.pipeline_id, self.name)
        return [AppType.from_model(app) for app in sorted(apps, key=lambda app: app.name)]


@strawberry.type(name="Pipeline", description="Apps that share a codebase, grouped by delivery stage.")
class PipelineType(relay.Node):
    id: relay.NodeID[int]
    name: str
    created_at: datetime
    updated_at: datetime
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

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[PipelineType | None]:
        pipelines = await info.context.loaders.pipeline_by_id.load_many(int_ids(node_ids))
        return [
            cls.from_model(pipeline) if pipeline and await sees_pipeline(info, pipeline) else None
            for pipeline in pipelines
        ]

    @strawberry.field
    async def owner(self, info: strawberry.Info[Context, None]) -> Owner:
        return await load_owner(info, self.model.owner_id, self.model.team_id)

    @strawberry.field(description="The four stages in delivery order, empty ones included.")
    def stages(self) -> list[PipelineStageType]:
        return [PipelineStageType(name=stage, pipeline_id=self.id) for stage in USER_STAGES]

    @strawberry.field(description="Promotions in this pipeline, newest first: the promotion history.")
    async def promotions(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> relay.Connection[Annotated[PromotionType, strawberry.lazy("pipegraph.promotions.types")]]:
        from pipegraph.promotions.queries import pipeline_promotions

        return await pipeline_promotions(info, self.id, first, after)

    @strawberry.field(description="Every app of the pipeline the viewer sees, whatever its stage.")
    async def apps(self, info: strawberry.Info[Context, None]) -> list[AppType]:
        return [AppType.from_model(app) for app in await _visible_apps(info, self.id)]

    @strawberry.field(description="Apps of the pipeline not owned by its owner (Heroku highlights them), by name.")
    async def foreign_apps(self, info: strawberry.Info[Context, None]) -> list[AppType]:
        from pipegraph.access.ownership import foreign

        apps = foreign([coupling.app for coupling in await _couplings(info, self.id)], self.model)
        return [AppType.from_model(app) for app in apps if await info.context.access.can_view_app(app)]

    @strawberry.field(description="Every change of owner, newest first.")
    async def transfers(
        self, info: strawberry.Info[Context, None]
    ) -> list[Annotated[PipelineTransferType, strawberry.lazy("pipegraph.access.types")]]:
        from pipegraph.access.types import pipeline_transfers

        return await pipeline_transfers(info, self.model)

    @strawberry.field(description="Access to its review and CI apps; null unless the viewer owns or is in its team.")
    async def access(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[PipelineAccessType, strawberry.lazy("pipegraph.access.types")] | None:
        from pipegraph.access.types import pipeline_access

        return await pipeline_access(info, self.model)


__all__ = ["PipelineStageType", "PipelineType", "Stage"]
