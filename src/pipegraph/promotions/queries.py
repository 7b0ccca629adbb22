"""The promotion history of a pipeline, newest first (Heroku keeps none)."""

from __future__ import annotations

from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.nodes import Keyset, keyset_page
from pipegraph.promotions.loaders import promotion_by_id
from pipegraph.promotions.models import Promotion
from pipegraph.promotions.types import PromotionType

PROMOTIONS = Keyset.by_number("promotion")


async def pipeline_promotions(
    info: Info, pipeline_id: int, first: int | None, after: str | None
) -> relay.Connection[PromotionType]:
    async def fetch(limit: int, before_id: int | None) -> list[Promotion]:
        query = Promotion.filter(pipeline_id=pipeline_id).order_by("-id")
        rows = await (query if before_id is None else query.filter(id__lt=before_id)).limit(limit)
        for row in rows:
            info.context.loaders[promotion_by_id].prime(row.id, row)
        return rows

    return await keyset_page(
        PROMOTIONS,
        first=first,
        after=after,
        fetch=fetch,
        key=lambda promotion: promotion.id,
        node_of=PromotionType.from_model,
    )
