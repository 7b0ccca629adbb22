from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.subscriptions import lines_while_visible, row_key, stream_hub
from pipegraph.apps.types import sees_apps
from pipegraph.ci.loaders import test_run_by_id
from pipegraph.ci.types import TestRunType
from pipegraph.core.errors import NotFound
from pipegraph.core.relay import get_by_reference
from pipegraph.pipelines.events import follow_pipeline
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.types import sees_pipeline
from pipegraph.promotions.loaders import promotion_by_id
from pipegraph.promotions.progress import follow_promotion
from pipegraph.promotions.types import PipelineEventType, PromotionProgressType, PromotionType, sees_promotion
from pipegraph.releases.loaders import release_by_id
from pipegraph.releases.log import follow_release_log
from pipegraph.releases.types import ReleaseLogLineType
from pipegraph.streams.pipeline import TestRunChanged


@strawberry.type
class PromotionSubscriptions:
    @strawberry.subscription(
        description="Every target's current state, then each change, ending once the promotion is COMPLETED."
    )
    async def promotion_progress(
        self, info: Info, id: Annotated[relay.GlobalID, strawberry.argument(description="The promotion's global ID.")]
    ) -> AsyncGenerator[PromotionProgressType, None]:
        promotion_id = row_key(id, "Promotion", field="id")
        hub = stream_hub(info)
        promotion = await info.context.loaders[promotion_by_id].load(promotion_id)
        if promotion is None or not await sees_promotion(info, promotion):
            raise NotFound("promotion", promotion_id, field="id")  # as for one that does not exist
        async for target in follow_promotion(hub, promotion_id):
            # Rights as they are now (a collaborator removed meanwhile sees no more), and fresh rows (statuses move on).
            info.context.refresh()
            if not await sees_promotion(info, promotion):
                raise NotFound("promotion", promotion_id, field="id")
            if target.app_id not in await sees_apps(info, [target.app_id]):
                continue
            yield PromotionProgressType.from_model(target)

    @strawberry.subscription(
        description="News of a pipeline: its unfinished promotions and test runs first, then each promotion as it "
        "starts and as it completes, and each test run as its status changes. Never ends by itself."
    )
    async def pipeline_events(
        self, info: Info, pipeline: Annotated[str, strawberry.argument(description="Pipeline name or global ID.")]
    ) -> AsyncGenerator[PipelineEventType, None]:
        hub = stream_hub(info)
        followed = await get_by_reference(Pipeline, pipeline, field="pipeline")
        if not await sees_pipeline(info, followed):
            raise NotFound("pipeline", pipeline, field="pipeline")  # as for one that does not exist
        shown: set[tuple[str, int, str]] = set()
        # It never ends by itself: closed explicitly when the client goes, so its stream reader stops with it.
        async with contextlib.aclosing(follow_pipeline(hub, followed.id)) as news:
            async for event in news:
                info.context.refresh()  # rights and rows as they are now
                if not await sees_pipeline(info, followed):
                    raise NotFound("pipeline", pipeline, field="pipeline")
                if isinstance(event, TestRunChanged):
                    run = await info.context.loaders[test_run_by_id].load(event.test_run_id)
                    if run is not None and ("run", run.id, run.status.value) not in shown:
                        shown.add(("run", run.id, run.status.value))
                        yield PipelineEventType(test_run=TestRunType.from_model(run))
                    continue
                promotion = await info.context.loaders[promotion_by_id].load(event.promotion_id)
                if promotion is not None and ("promotion", promotion.id, promotion.status.value) not in shown:
                    shown.add(("promotion", promotion.id, promotion.status.value))
                    yield PipelineEventType(promotion=PromotionType.from_model(promotion))

    @strawberry.subscription(description="A release phase's output, line by line, as it runs (or all of it, after).")
    async def release_log(
        self,
        info: Info,
        release_id: Annotated[relay.GlobalID, strawberry.argument(description="The release's global ID.")],
    ) -> AsyncGenerator[ReleaseLogLineType, None]:
        release = row_key(release_id, "Release", field="releaseId")
        hub = stream_hub(info)
        row = await info.context.loaders[release_by_id].load(release)
        if row is None or row.app_id not in await sees_apps(info, [row.app_id]):
            raise NotFound("release", release, field="releaseId")  # as for one that does not exist
        lines = follow_release_log(hub, release)
        async for number, line in lines_while_visible(
            info, lines, app_id=row.app_id, what="release", row_id=release, field="releaseId"
        ):
            yield ReleaseLogLineType(number=number, text=line)
