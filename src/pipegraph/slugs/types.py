from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

import strawberry
from strawberry import relay

from pipegraph.access.checks import sees_apps
from pipegraph.accounts.types import int_ids
from pipegraph.api.context import Context
from pipegraph.api.scalars import JSON
from pipegraph.slugs.models import Slug


@strawberry.type(name="Slug", description="An immutable, content-addressed build of an app.")
class SlugType(relay.Node):
    id: relay.NodeID[int]
    checksum: str = strawberry.field(description="SHA256:<hex> of the tarball.")
    size: int | None = strawberry.field(description="Bytes; null until the blob is uploaded.")
    stack: str
    commit: str | None
    commit_description: str | None
    uploaded: bool
    created_at: datetime
    model: strawberry.Private[Slug]

    @classmethod
    def from_model(cls, slug: Slug) -> SlugType:
        return cls(
            id=slug.id,
            checksum=slug.checksum,
            size=slug.size,
            stack=slug.stack,
            commit=slug.commit,
            commit_description=slug.commit_description,
            uploaded=slug.uploaded,
            created_at=slug.created_at,
            model=slug,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[SlugType | None]:
        slugs = await info.context.loaders.slug_by_id.load_many(int_ids(node_ids))
        seen = await sees_apps(info, [slug.app_id for slug in slugs if slug])
        return [cls.from_model(slug) if slug and slug.app_id in seen else None for slug in slugs]

    @strawberry.field(description='Process name to command, e.g. {"web": "./bin/web", "release": "./bin/migrate"}.')
    def process_types(self) -> JSON:
        return cast(JSON, dict(self.model.process_types))
