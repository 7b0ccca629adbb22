from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.event_batches import prepare, while_reading
from pipegraph.api.subscriptions import app_log_lines, row_key, stream_hub
from pipegraph.apps.types import sees_apps
from pipegraph.core.errors import NotFound
from pipegraph.pipelines.live_view import pipeline_view
from pipegraph.promotions.loaders import promotion_by_id
from pipegraph.promotions.models import PromotionTarget
from pipegraph.promotions.progress import follow_promotion
from pipegraph.promotions.types import PromotionProgressType, sees_promotion
from pipegraph.releases.loaders import release_by_id
from pipegraph.releases.log import follow_release_log
from pipegraph.releases.types import ReleaseLogLineType
from pipegraph.streams.promotion import TargetState


def _sees_target(seen_apps: frozenset[int], target: PromotionTarget | TargetState) -> bool:
    return target.app_id in seen_apps


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
        async for changes in follow_promotion(hub, promotion_id):
            # Fresh rows and rights for each batch (statuses move on, owners change, a collaborator removed meanwhile
            # sees nothing of the next batch): the pipeline's and apps' owners read once per burst for every socket
            # following it, the rights from memory while access notices are heard. The events are built while that
            # statement runs, and those of the targets the viewer sees are sent, as one result where the selection
            # is planned (api/event_batches.py).
            info.context.refresh()
            view, batch = await while_reading(
                pipeline_view(promotion.pipeline_id, changes.delivery),
                partial(prepare, info, changes.targets, PromotionProgressType.from_model, burst=changes.delivery),
            )
            app_ids = {target.app_id for target in changes.targets}
            await view.include(app_ids)
            rights = await info.context.access.rights()
            if not view.sees_pipeline(rights):
                raise NotFound("promotion", promotion_id, field="id")
            seen = view.seen_among(rights, app_ids)
            for event in batch.events(None if len(seen) == len(app_ids) else partial(_sees_target, seen)):
                yield event

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
        make = lambda number, text: ReleaseLogLineType(number=number, text=text)  # noqa: E731
        async for line in app_log_lines(
            info, lines, make, app_id=row.app_id, missing=NotFound("release", release, field="releaseId")
        ):
            yield line
