from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.subscriptions import lines_while_visible, row_key, stream_hub
from pipegraph.ci.loaders import nodes_by_run, test_run_by_id
from pipegraph.ci.log import follow_test_log
from pipegraph.ci.types import TestLogLineType, sees_test_run
from pipegraph.core.errors import NotFound


@strawberry.type
class CiSubscriptions:
    @strawberry.subscription(
        description="A test run's output, line by line: what it printed so far, then as it runs, until it ends."
    )
    async def test_run_log(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The test run's global ID.")],
        node: Annotated[int, strawberry.argument(description="Which node's output (0: the first).")] = 0,
    ) -> AsyncGenerator[TestLogLineType, None]:
        run_id = row_key(id, "TestRun", field="id")
        hub = stream_hub(info)
        run = await info.context.loaders[test_run_by_id].load(run_id)
        if run is None or not await sees_test_run(info, run):
            raise NotFound("test run", run_id, field="id")  # as for one that does not exist
        nodes = [row for row in await info.context.loaders[nodes_by_run].load(run_id) if row.index == node]
        if not nodes:
            raise NotFound("test node", node, field="node")
        # Rights as they are now, before each batch: one who lost sight of the pipeline sees no more.
        async for line in lines_while_visible(
            info,
            follow_test_log(hub, nodes[0].id),
            lambda number, text: TestLogLineType(number=number, text=text),
            sees=partial(sees_test_run, info, run),
            missing=NotFound("test run", run_id, field="id"),
        ):
            yield line
