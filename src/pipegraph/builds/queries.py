from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.builds.types import BuildType


@strawberry.type
class BuildQueries:
    @strawberry.field(description="A build by its global ID; null if the viewer cannot see its app.")
    async def build(
        self, info: Info, id: Annotated[relay.GlobalID, strawberry.argument(description="The build's global ID.")]
    ) -> BuildType | None:
        if id.type_name != "Build":
            return None
        found: list[BuildType | None] = await BuildType.resolve_nodes(info=info, node_ids=[id.node_id])
        return found[0]
