"""Build loaders, declared here and built per operation by `Loaders`."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.builds.models import Build
from pipegraph.core.loaders import PageKey, loader, newest_first_pages, one_by

# An app's id, the rows to fetch (the page size plus one) and the build id to stay below.
BuildPageKey = PageKey


@loader
def build_by_id() -> DataLoader[int, Build | None]:
    return one_by(Build)


@loader
def build_pages() -> DataLoader[BuildPageKey, list[Build]]:
    """Newest-first builds for many apps at once: one statement per distinct (page size, cursor)."""
    return newest_first_pages(Build, parent="app_id", order="id")
