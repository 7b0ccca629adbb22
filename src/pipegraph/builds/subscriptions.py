from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.subscriptions import app_log_lines, row_key, stream_hub
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
        make = lambda number, text: BuildLogLineType(number=number, text=text)  # noqa: E731
        async for line in app_log_lines(
            info, lines, make, app_id=row.app_id, missing=NotFound("build", build, field="buildId")
        ):
            yield line
