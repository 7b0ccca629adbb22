"""CI loaders, declared here and built per operation by `Loaders`."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.ci.models import PipelineCi, TestNode, TestRun
from pipegraph.core.loaders import loader, many_by, one_by


@loader
def test_run_by_id() -> DataLoader[int, TestRun | None]:
    return one_by(TestRun)


@loader
def nodes_by_run() -> DataLoader[int, list[TestNode]]:
    return many_by(TestNode, "test_run_id", order_by=("index",))


@loader
def ci_by_pipeline() -> DataLoader[int, PipelineCi | None]:
    return one_by(PipelineCi, "pipeline_id")
