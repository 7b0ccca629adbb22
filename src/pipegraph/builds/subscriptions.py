from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.subscriptions import lines_while_visible, row_key, stream_hub
from pipegraph.apps.types import sees_apps
from pipegraph.builds.loaders import build_by_id
from pipegraph.builds.log import follow_build_log
from pipegraph.builds.types import BuildLogLineType
from pipegraph.core.errors import NotFound


@strawberry.type
class BuildSubscriptions:
    @strawberry.subscription(description="A build's output, line by line: what it printed so far, then as it runs.")
    async def build_log(
        self,
        info: Info,
        build_id: Annotated[relay.GlobalID, strawberry.argument(description="The build's global ID.")],
    ) -> AsyncGenerator[BuildLogLineType, None]:
        build = row_key(build_id, "Build", field="buildId")
        hub = stream_hub(info)
        row = await info.context.loaders[build_by_id].load(build)
        if row is None or row.app_id not in await sees_apps(info, [row.app_id]):
            raise NotFound("build", build, field="buildId")  # as for one that does not exist
        lines = follow_build_log(hub, build)
        async for number, line in lines_while_visible(
            info, lines, app_id=row.app_id, what="build", row_id=build, field="buildId"
        ):
            yield BuildLogLineType(number=number, text=line)
