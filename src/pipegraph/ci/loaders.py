"""CI loaders, declared here and built per operation by `Loaders`."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from pipegraph.ci.models import PipelineCi, TestNode, TestRun
from pipegraph.core.loaders import PageKey, loader, many_by, newest_first_pages, one_by


@loader
def test_run_by_id() -> DataLoader[int, TestRun | None]:
    return one_by(TestRun)


@loader
def nodes_by_run() -> DataLoader[int, list[TestNode]]:
    return many_by(TestNode, "test_run_id", order_by=("index",))


@loader
def ci_by_pipeline() -> DataLoader[int, PipelineCi | None]:
    return one_by(PipelineCi, "pipeline_id")


@loader
def test_run_pages() -> DataLoader[PageKey, list[TestRun]]:
    """Newest-first test runs of many pipelines at once: one statement per distinct (page size, cursor)."""
    return newest_first_pages(TestRun, parent="pipeline_id", order="number")


@loader
def test_run_by_number() -> DataLoader[tuple[int, int], TestRun | None]:
    """A pipeline's run by its number, keyed (pipeline id, number)."""

    async def load(keys: Sequence[tuple[int, int]]) -> list[TestRun | None]:
        pipeline_ids = list({pipeline_id for pipeline_id, _ in keys})
        numbers = list({number for _, number in keys})
        rows = await TestRun.filter(pipeline_id__in=pipeline_ids, number__in=numbers)
        found = {(row.pipeline_id, row.number): row for row in rows}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)
