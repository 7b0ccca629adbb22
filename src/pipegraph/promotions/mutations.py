from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app, require_app, require_unnamed_app
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.apps.models import App
from pipegraph.promotions import service
from pipegraph.promotions.progress import announce_to_pipeline
from pipegraph.promotions.types import PromotionType


@strawberry.input(description="What to promote and where to.")
class PromoteInput:
    source: str = strawberry.field(description="The app to promote from (name or global ID).")
    to: list[str] | None = strawberry.field(
        default=None,
        description="Apps to promote to (names or global IDs), any of the same pipeline. Default: the next stage.",
    )
    release: str | None = strawberry.field(
        default=None,
        description="A release of the source by version (12 or v12) or global ID. Default: its current release.",
    )


@strawberry.type(description="The result of promote: the promotion, whose targets workers then carry out.")
class PromotePayload(Payload):
    promotion: PromotionType | None = strawberry.field(
        default=None, description="The new promotion, its targets QUEUED; null if refused."
    )


@strawberry.type
class PromotionMutations:
    @mutation(description="Copy a release's exact slug to downstream apps; follow it with `promotionProgress`.")
    async def promote(
        self, info: Info, input: Annotated[PromoteInput, strawberry.argument(description="Parameters for promote.")]
    ) -> PromotePayload:
        access = info.context.access
        source = await authorized_app(access, input.source, "promote", field="source")

        async def authorize_target(app: App, reference: str | None) -> None:
            if reference is not None:
                await require_app(access, app, "promoteInto", reference=reference, field="to")
            else:  # a default target: one the viewer cannot see is refused without naming it
                refusal = f"promote needs the deploy permission on every app downstream of {source.name}"
                await require_unnamed_app(
                    access, app, "promoteInto", refusal=refusal, refusal_field="source", field="source"
                )

        promotion, jobs = await service.promote(
            source=source,
            to=input.to,
            release=input.release,
            user=info.context.viewer,
            authorize_target=authorize_target,
        )
        await info.context.enqueue(jobs)  # committed by now: a worker will find the rows
        if info.context.streams is not None:
            await announce_to_pipeline(info.context.streams.redis, promotion)
        return PromotePayload(promotion=PromotionType.from_model(promotion))
