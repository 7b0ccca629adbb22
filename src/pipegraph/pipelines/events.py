"""`pipelineEvents(pipeline)`: a pipeline's news for the pages that show it (the dashboard), over WebSocket.

Promotions (starting and completing) are what it always carried, and all a client gets unless it asks for more
`kinds`: review apps, builds, deploys and test runs of the pipeline, each sent as it then is, with the viewer's rights.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable
from enum import StrEnum
from functools import partial
from typing import Annotated

import strawberry

from pipegraph.api.context import Info
from pipegraph.api.subscriptions import stream_hub
from pipegraph.builds.models import Build
from pipegraph.builds.types import BuildType
from pipegraph.ci.loaders import test_run_by_id
from pipegraph.ci.types import TestRunType
from pipegraph.core.enums import describe_values
from pipegraph.core.errors import NotFound
from pipegraph.core.relay import get_by_reference
from pipegraph.github.models import Deploy
from pipegraph.github.types import DeployType
from pipegraph.pipelines.live_view import pipeline_view
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.types import sees_pipeline
from pipegraph.promotions.loaders import promotion_by_id
from pipegraph.promotions.progress import follow_pipeline
from pipegraph.promotions.types import PromotionType
from pipegraph.reviewapps.models import ReviewApp
from pipegraph.reviewapps.types import ReviewAppType
from pipegraph.streams.pipeline import NewsKind, PipelineNews


class PipelineEventKind(StrEnum):
    PROMOTION = "promotion"
    REVIEW_APP = "review_app"
    BUILD = "build"
    DEPLOY = "deploy"
    TEST_RUN = "test_run"


PipelineEventKindEnum = strawberry.enum(
    PipelineEventKind, name="PipelineEventKind", description="What a pipeline event is about."
)
describe_values(
    PipelineEventKind,
    {
        PipelineEventKind.PROMOTION: "A promotion started or completed.",
        PipelineEventKind.REVIEW_APP: "A review app changed.",
        PipelineEventKind.BUILD: "A build of one of its apps started or ended.",
        PipelineEventKind.DEPLOY: "A deploy from GitHub changed.",
        PipelineEventKind.TEST_RUN: "A CI test run started, moved on or ended.",
    },
)


@strawberry.type(name="PipelineEvent", description="News of a pipeline: what changed, as it now is.")
class PipelineEventType:
    kind: PipelineEventKind = strawberry.field(description="Which of the fields below is set.")
    promotion: PromotionType | None = strawberry.field(default=None, description="The promotion, as it is now.")
    review_app: ReviewAppType | None = strawberry.field(default=None, description="The review app, as it is now.")
    build: BuildType | None = strawberry.field(default=None, description="The build, as it is now.")
    deploy: DeployType | None = strawberry.field(default=None, description="The deploy, as it is now.")
    test_run: TestRunType | None = strawberry.field(default=None, description="The test run, as it is now.")
    # Everything a selection can read of this event: see PromotionProgressType.
    shared_as: strawberry.Private[tuple[object, ...] | None] = None


async def _event(
    info: Info, pipeline_id: int, news: PipelineNews, app_seen: Callable[[int], bool]
) -> tuple[tuple[object, ...], PipelineEventType] | None:
    """The event for `news` and what identifies its state (to drop repeats); None when it is gone or not seen.
    `app_seen`: whether an app is in the pipeline and the viewer sees it."""
    if news.kind == NewsKind.PROMOTION:
        promotion = await info.context.loaders[promotion_by_id].load(news.row_id)
        if promotion is None:
            return None
        event = PipelineEventType(kind=PipelineEventKind.PROMOTION, promotion=PromotionType.from_model(promotion))
        return (news.kind, promotion.id, promotion.status), event
    if news.kind == NewsKind.REVIEW_APP:
        row = await ReviewApp.get_or_none(id=news.row_id, pipeline_id=pipeline_id)
        if row is None:
            return None
        event = PipelineEventType(kind=PipelineEventKind.REVIEW_APP, review_app=ReviewAppType.from_model(row))
        return (news.kind, row.id, row.status, row.message, row.build_id), event
    if news.kind == NewsKind.BUILD:
        build = await Build.get_or_none(id=news.row_id)
        if build is None or not app_seen(build.app_id):
            return None
        return (news.kind, build.id, build.status), PipelineEventType(
            kind=PipelineEventKind.BUILD, build=BuildType.from_model(build)
        )
    if news.kind == NewsKind.TEST_RUN:
        run = await info.context.loaders[test_run_by_id].load(news.row_id)
        if run is None or run.pipeline_id != pipeline_id:
            return None
        return (news.kind, run.id, run.status), PipelineEventType(
            kind=PipelineEventKind.TEST_RUN, test_run=TestRunType.from_model(run)
        )
    deploy = await Deploy.get_or_none(id=news.row_id)
    if deploy is None or not app_seen(deploy.app_id):
        return None
    return (news.kind, deploy.id, deploy.status, deploy.message), PipelineEventType(
        kind=PipelineEventKind.DEPLOY, deploy=DeployType.from_model(deploy)
    )


@strawberry.type
class PipelineSubscriptions:
    @strawberry.subscription(
        description="News of a pipeline: its unfinished promotions first, then each promotion as it starts and as it "
        "completes, and (with `kinds`) each review app, build, deploy and test run as it changes. Never ends by itself."
    )
    async def pipeline_events(
        self,
        info: Info,
        pipeline: Annotated[str, strawberry.argument(description="Pipeline name or global ID.")],
        kinds: Annotated[
            list[PipelineEventKind] | None,
            strawberry.argument(description="What to hear of; default (and null): PROMOTION only, as it always was."),
        ] = None,
    ) -> AsyncGenerator[PipelineEventType, None]:
        hub = stream_hub(info)
        wanted = {NewsKind(kind.value) for kind in kinds or [PipelineEventKind.PROMOTION]}
        followed = await get_by_reference(Pipeline, pipeline, field="pipeline")
        if not await sees_pipeline(info, followed):
            raise NotFound("pipeline", pipeline, field="pipeline")  # as for one that does not exist
        shown: set[object] = set()
        # It never ends by itself: closed explicitly when the client goes, so its stream reader stops with it.
        async with contextlib.aclosing(follow_pipeline(hub, followed.id)) as batches:
            async for batch, delivery in batches:
                items = [item for item in batch if item.kind in wanted]
                if not items:
                    continue
                # Rows as they are now, once per batch; the pipeline's and its apps' owners read once per burst for
                # every socket following the pipeline (pipelines/live_view.py).
                info.context.refresh()
                view = await pipeline_view(followed.id, delivery)
                for item in items:
                    info.context.refresh_rights()  # rights as they are now, at each event
                    rights = await info.context.access.rights()
                    if not view.sees_pipeline(rights):
                        raise NotFound("pipeline", pipeline, field="pipeline")
                    found = await _event(info, followed.id, item, partial(view.sees_coupled_app, rights))
                    if found is not None and found[0] not in shown:
                        shown.add(found[0])
                        event = found[1]
                        # Subscribers with the same selection and rights share one execution of it
                        # (api/event_results.py): what identifies it is its state, as for dropping repeats.
                        event.shared_as = ("PipelineEvent", followed.id, *found[0])
                        yield event
