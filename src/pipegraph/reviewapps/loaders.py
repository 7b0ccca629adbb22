"""Review-app loaders, declared here and built per operation by `Loaders`: one statement for all the pipelines of a
response, whatever their number."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import PageKey, loader, newest_first_pages, one_by
from pipegraph.reviewapps.models import ReviewApp, ReviewAppConfig, ReviewAppStatus


@loader
def review_app_by_id() -> DataLoader[int, ReviewApp | None]:
    return one_by(ReviewApp)


@loader
def review_app_config_by_pipeline() -> DataLoader[int, ReviewAppConfig | None]:
    return one_by(ReviewAppConfig, "pipeline_id")


@loader
def review_app_pages() -> DataLoader[PageKey, list[ReviewApp]]:
    """Pipelines' review apps by pull request number, newest first, DELETED ones included."""
    return newest_first_pages(ReviewApp, parent="pipeline_id", order="pr_number")


@loader
def live_review_app_pages() -> DataLoader[PageKey, list[ReviewApp]]:
    """The same without the DELETED ones."""
    return newest_first_pages(
        ReviewApp, parent="pipeline_id", order="pr_number", where=f"status <> '{ReviewAppStatus.DELETED.value}'"
    )
