from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry import relay

from pipegraph.api.nodes import resolve_visible
from pipegraph.api.scalars import JSON
from pipegraph.apps.types import seen_through_their_app
from pipegraph.slugs.loaders import slug_by_id
from pipegraph.slugs.models import Slug


@strawberry.type(name="Slug", description="An immutable, content-addressed build of an app.")
class SlugType(relay.Node):
    id: relay.NodeID[int]
    checksum: str = strawberry.field(description="SHA256:<hex> of the tarball.")
    size: int | None = strawberry.field(description="Bytes; null until the blob is uploaded.")
    stack: str = strawberry.field(description="The stack the slug was built for.")
    commit: str | None = strawberry.field(description="The source commit it was built from, if given.")
    commit_description: str | None = strawberry.field(description="That commit's message, if given.")
    uploaded: bool = strawberry.field(
        description="Whether its tarball was uploaded (and checked against its checksum)."
    )
    created_at: datetime = strawberry.field(description="When the slug was declared.")
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

    resolve_nodes = resolve_visible(slug_by_id, seen_through_their_app)

    @strawberry.field(description='Process name to command, e.g. {"web": "./bin/web", "release": "./bin/migrate"}.')
    def process_types(self) -> JSON:
        return cast(JSON, dict(self.model.process_types))
