"""Pipeline loaders: couplings, and the lists of the access tab and ownership fields (one statement for all the
pipelines of a response)."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, many_by, one_by
from pipegraph.pipelines.models import (
    Pipeline,
    PipelineAccessGrant,
    PipelineCoupling,
    PipelineTransfer,
    Stage,
    StageConfigVars,
)


@loader
def pipeline_by_id() -> DataLoader[int, Pipeline | None]:
    return one_by(Pipeline)


@loader
def pipeline_by_name() -> DataLoader[str, Pipeline | None]:
    return one_by(Pipeline, "name")


@loader
def coupling_by_app() -> DataLoader[int, PipelineCoupling | None]:
    return one_by(PipelineCoupling, "app_id")


@loader
def couplings_by_pipeline() -> DataLoader[int, list[PipelineCoupling]]:
    return many_by(PipelineCoupling, "pipeline_id", related=("app",))


@loader
def grants_by_pipeline() -> DataLoader[int, list[PipelineAccessGrant]]:
    return many_by(PipelineAccessGrant, "pipeline_id", related=("user",))


@loader
def transfers_by_pipeline() -> DataLoader[int, list[PipelineTransfer]]:
    return many_by(PipelineTransfer, "pipeline_id", order_by=("-created_at", "-id"))


@loader
def stage_config_vars_by_pipeline() -> DataLoader[tuple[int, Stage], dict[str, str]]:
    """A stage's config vars by (pipeline id, stage): one statement for every pipeline and stage asked; {} if unset."""

    async def load(keys: Sequence[tuple[int, Stage]]) -> list[dict[str, str]]:
        rows = await StageConfigVars.filter(
            pipeline_id__in={pipeline_id for pipeline_id, _ in keys}, stage__in={stage for _, stage in keys}
        )
        found = {(row.pipeline_id, Stage(row.stage)): row.vars for row in rows}
        return [{str(k): str(v) for k, v in found.get(key, {}).items()} for key in keys]

    return DataLoader(load_fn=load)
