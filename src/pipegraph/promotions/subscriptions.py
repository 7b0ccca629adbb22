from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import strawberry
from redis.asyncio import Redis
from strawberry import relay

from pipegraph.api.context import Context
from pipegraph.core.errors import ClientError
from pipegraph.promotions.progress import follow_promotion
from pipegraph.promotions.types import PromotionProgressType
from pipegraph.releases.log import follow_release_log
from pipegraph.releases.types import ReleaseLogLineType


def subscriber_redis(info: strawberry.Info[Context, None]) -> Redis:
    """A connection of the subscription's own: a blocking stream read holds it until news arrives."""
    if info.context.viewer is None:
        raise ClientError("not authenticated: send the token in connection_init")
    if not info.context.settings.redis_url:
        raise ClientError("subscriptions need Redis, and this server has none configured")
    redis: Redis = Redis.from_url(info.context.settings.redis_url)
    return redis


def _int_id(id: relay.GlobalID, type_name: str) -> int:
    if id.type_name != type_name or not id.node_id.isdigit():
        raise ClientError(f"{id} is not the ID of a {type_name}")
    return int(id.node_id)


@strawberry.type
class PromotionSubscriptions:
    @strawberry.subscription(
        description="Every target's current state, then each change, ending once the promotion is COMPLETED."
    )
    async def promotion_progress(
        self, info: strawberry.Info[Context, None], id: relay.GlobalID
    ) -> AsyncGenerator[PromotionProgressType, None]:
        promotion_id = _int_id(id, "Promotion")
        redis = subscriber_redis(info)
        try:
            async for target in follow_promotion(redis, promotion_id):
                if target.release_id is not None:
                    with contextlib.suppress(KeyError):  # not loaded yet
                        info.context.loaders.release_by_id.clear(target.release_id)  # its status moves on
                yield PromotionProgressType.from_model(target)
        finally:
            await redis.aclose()

    @strawberry.subscription(description="A release phase's output, line by line, as it runs (or all of it, after).")
    async def release_log(
        self, info: strawberry.Info[Context, None], release_id: relay.GlobalID
    ) -> AsyncGenerator[ReleaseLogLineType, None]:
        release = _int_id(release_id, "Release")
        redis = subscriber_redis(info)
        try:
            number = 0
            async for line in follow_release_log(redis, release):
                number += 1
                yield ReleaseLogLineType(number=number, text=line)
        finally:
            await redis.aclose()
