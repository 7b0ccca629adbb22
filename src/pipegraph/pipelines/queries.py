from __future__ import annotations

import strawberry
from strawberry import relay

from pipegraph.api.context import Context
from pipegraph.core.errors import ClientError
from pipegraph.core.names import could_be_name
from pipegraph.core.relay import build_connection, db_id, decode_name_cursor, encode_cursor, page_size
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.types import PipelineType, sees_pipeline

PIPELINE_CURSOR = "pipeline"


@strawberry.type
class PipelineQueries:
    @strawberry.field(
        description="A pipeline by name or by global ID (give exactly one); null if the viewer cannot see it."
    )
    async def pipeline(
        self, info: strawberry.Info[Context, None], name: str | None = None, id: relay.GlobalID | None = None
    ) -> PipelineType | None:
        if (name is None) == (id is None):
            raise ClientError("pipeline needs exactly one of `name` or `id`")
        if id is not None:
            if id.type_name != "Pipeline":
                return None
            pipeline = await info.context.loaders.pipeline_by_id.load(db_id(id.node_id))
        elif could_be_name(str(name)):
            pipeline = await info.context.loaders.pipeline_by_name.load(str(name))
        else:
            return None
        if pipeline is None or not await sees_pipeline(info, pipeline):
            return None
        return PipelineType.from_model(pipeline)

    @strawberry.field(description="Pipelines the viewer sees, by name.")
    async def pipelines(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> relay.Connection[PipelineType]:
        size = page_size(first)
        after_name = decode_name_cursor(PIPELINE_CURSOR, after)
        query = Pipeline.filter(await info.context.access.visible_pipelines()).order_by("name")
        if after_name is not None:
            query = query.filter(name__gt=after_name)
        rows = await query.limit(size + 1)
        return build_connection(
            rows,
            first=size,
            cursor_of=lambda pipeline: encode_cursor(PIPELINE_CURSOR, pipeline.name),
            node_of=PipelineType.from_model,
            has_previous_page=after_name is not None,
        )
