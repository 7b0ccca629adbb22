"""The promotion history of a pipeline, newest first (Heroku keeps none)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from pipegraph.api.context import Context
from pipegraph.core.relay import build_connection, decode_int_cursor, encode_cursor, page_size
from pipegraph.promotions.models import Promotion
from pipegraph.promotions.types import PromotionType

PROMOTION_CURSOR = "promotion"


async def pipeline_promotions(
    info: strawberry.Info[Context, None], pipeline_id: int, first: int | None, after: str | None
) -> relay.Connection[PromotionType]:
    size = page_size(first)
    before_id = decode_int_cursor(PROMOTION_CURSOR, after)
    query = Promotion.filter(pipeline_id=pipeline_id).order_by("-id")
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(size + 1)
    for row in rows:
        info.context.loaders.promotion_by_id.prime(row.id, row)
    return build_connection(
        rows,
        first=size,
        cursor_of=lambda promotion: encode_cursor(PROMOTION_CURSOR, promotion.id),
        node_of=PromotionType.from_model,
        has_previous_page=before_id is not None,
    )
