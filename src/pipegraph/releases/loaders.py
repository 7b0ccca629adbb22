"""Release loaders, including the page of each app's newest releases in one windowed statement."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import PageKey, loader, newest_first_pages, one_by
from pipegraph.releases.models import Release

# An app's id, the rows to fetch (the page size plus one) and the version to stay below.
ReleasePageKey = PageKey


@loader
def release_by_id() -> DataLoader[int, Release | None]:
    return one_by(Release)


@loader
def current_release_by_app() -> DataLoader[int, Release | None]:
    async def load(app_ids: Sequence[int]) -> list[Release | None]:
        rows = await Release.filter(app_id__in=list(set(app_ids)), is_current=True)
        by_app = {row.app_id: row for row in rows}
        return [by_app.get(app_id) for app_id in app_ids]

    return DataLoader(load_fn=load)


@loader
def release_pages() -> DataLoader[ReleasePageKey, list[Release]]:
    """Newest-first releases for many apps at once: one statement per distinct (page size, cursor)."""
    return newest_first_pages(Release, parent="app_id", order="version")
