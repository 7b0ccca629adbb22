"""Pipeline loaders: couplings, and the lists of the access tab and ownership fields (one statement for all the
pipelines of a response)."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, many_by, one_by
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, PipelineCoupling, PipelineTransfer


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
