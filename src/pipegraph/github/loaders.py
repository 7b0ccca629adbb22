"""GitHub loaders, declared here and built per operation by `Loaders`: one statement for all the pipelines of a
response, whatever their number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import PageKey, loader, newest_first_pages, one_by
from pipegraph.github.models import Deploy, RepositoryConnection, WebhookDelivery


@loader
def deploy_by_id() -> DataLoader[int, Deploy | None]:
    return one_by(Deploy)


@loader
def connection_by_pipeline() -> DataLoader[int, RepositoryConnection | None]:
    return one_by(RepositoryConnection, "pipeline_id")


@loader
def deploy_pages() -> DataLoader[PageKey, list[Deploy]]:
    """Newest-first deploys of many apps at once (a pipeline's deploys are its apps' pages, merged)."""
    return newest_first_pages(Deploy, parent="app_id", order="id")


class DeliveryPageKey(NamedTuple):
    """The newest `limit` deliveries of the repository `pipeline_id` is connected to (`repository`, as loaded)."""

    pipeline_id: int
    repository: str
    limit: int


@loader
def delivery_pages() -> DataLoader[DeliveryPageKey, list[WebhookDelivery]]:
    """Deliveries are kept by repository name: the pipelines' connections name them inside the statement, so only
    integers (pipeline ids, a limit) are written into it, and one statement per page size serves every pipeline."""
    deliveries = WebhookDelivery._meta.db_table
    connections = RepositoryConnection._meta.db_table

    def sql(pipeline_ids: Sequence[int], limit: int) -> str:
        ids = ",".join(str(int(pipeline_id)) for pipeline_id in pipeline_ids)
        return (
            f"SELECT * FROM {deliveries} WHERE id IN ("
            " SELECT id FROM ("
            "  SELECT id, ROW_NUMBER() OVER (PARTITION BY repository ORDER BY id DESC) AS position"
            f"  FROM {deliveries}"
            f"  WHERE repository IN (SELECT full_name FROM {connections} WHERE pipeline_id IN ({ids}))"
            f" ) ranked WHERE position <= {int(limit)}"
            ") ORDER BY repository, id DESC"
        )

    async def load(keys: Sequence[DeliveryPageKey]) -> list[list[WebhookDelivery]]:
        by_limit: dict[int, set[int]] = defaultdict(set)
        for key in keys:
            by_limit[key.limit].add(key.pipeline_id)
        pages: dict[tuple[str, int], list[WebhookDelivery]] = defaultdict(list)
        for limit, pipeline_ids in by_limit.items():
            if limit == 0:
                continue
            rows: list[WebhookDelivery] = await WebhookDelivery.raw(sql(sorted(pipeline_ids), limit))
            for row in rows:
                pages[(row.repository or "", limit)].append(row)
        return [pages.get((key.repository, key.limit), []) for key in keys]

    return DataLoader(load_fn=load)
