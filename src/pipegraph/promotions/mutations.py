from __future__ import annotations

import strawberry

from pipegraph.api.context import Context
from pipegraph.api.errors import UserErrorType, run_mutation
from pipegraph.apps.service import get_app
from pipegraph.promotions import service
from pipegraph.promotions.types import PromotionType


@strawberry.input
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


@strawberry.type
class PromotePayload:
    promotion: PromotionType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class PromotionMutations:
    @strawberry.mutation(
        description="Copy a release's exact slug to downstream apps; follow it with `promotionProgress`."
    )
    async def promote(self, info: strawberry.Info[Context, None], input: PromoteInput) -> PromotePayload:
        async def action() -> PromotePayload:
            source = await get_app(input.source, field="source")
            promotion, jobs = await service.promote(
                source=source, to=input.to, release=input.release, user=info.context.viewer
            )
            await info.context.enqueue(jobs)  # committed by now: a worker will find the rows
            return PromotePayload(promotion=PromotionType.from_model(promotion))

        return await run_mutation(PromotePayload, action())
