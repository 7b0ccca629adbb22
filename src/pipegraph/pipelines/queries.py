from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry import relay
from tortoise.queryset import QuerySet

from pipegraph.api.context import Info
from pipegraph.api.nodes import keyset_page
from pipegraph.core.errors import ClientError
from pipegraph.core.names import could_be_name
from pipegraph.core.relay import After, First, db_id
from pipegraph.pipelines.loaders import pipeline_by_id, pipeline_by_name
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.types import PIPELINES, PipelineType, sees_pipeline
from pipegraph.reads.executor import read_pipeline, read_pipelines


@strawberry.type
class PipelineQueries:
    @strawberry.field(
        description="A pipeline by name or by global ID (give exactly one); null if the viewer cannot see it."
    )
    async def pipeline(
        self,
        info: Info,
        name: Annotated[str | None, strawberry.argument(description="The pipeline's name.")] = None,
        id: Annotated[relay.GlobalID | None, strawberry.argument(description="The pipeline's global ID.")] = None,
    ) -> PipelineType | None:
        if (name is None) == (id is None):
            raise ClientError("pipeline needs exactly one of `name` or `id`")
        if id is not None and id.type_name != "Pipeline":
            return None
        if id is None and not could_be_name(str(name)):
            return None
        if info.context.settings.compiled_reads:
            key = {"pipeline_id": db_id(id.node_id)} if id is not None else {"name": str(name)}
            compiled = await read_pipeline(info, **key)
            if compiled is not None:
                return cast(PipelineType, compiled)  # finished: CompiledReadsExecutionContext hands it on as it is
        if id is not None:
            pipeline = await info.context.loaders[pipeline_by_id].load(db_id(id.node_id))
        else:
            pipeline = await info.context.loaders[pipeline_by_name].load(str(name))
        if pipeline is None or not await sees_pipeline(info, pipeline):
            return None
        return PipelineType.from_model(pipeline)

    @strawberry.field(description="Pipelines the viewer sees, by name.")
    async def pipelines(self, info: Info, first: First = None, after: After = None) -> relay.Connection[PipelineType]:
        query = Pipeline.filter(await info.context.access.visible_pipelines()).order_by("name")

        def fetch(limit: int, after_name: str | None) -> QuerySet[Pipeline]:
            return (query if after_name is None else query.filter(name__gt=after_name)).limit(limit)

        def page_ids(limit: int, after_name: str | None) -> Any:
            return fetch(limit, after_name).values_list("id", flat=True)

        if info.context.settings.compiled_reads:
            compiled = await read_pipelines(info, first=first, after=after, page_ids=page_ids)
            if compiled is not None:
                return cast(relay.Connection[PipelineType], compiled)

        return await keyset_page(
            PIPELINES,
            first=first,
            after=after,
            fetch=fetch,
            key=lambda pipeline: pipeline.name,
            node_of=PipelineType.from_model,
        )
