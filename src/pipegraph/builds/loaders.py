"""Build loaders, declared here and built per operation by `Loaders`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from pipegraph.builds.models import Build
from pipegraph.core.loaders import loader, one_by


class BuildPageKey(NamedTuple):
    app_id: int
    limit: int  # the page size plus one, to tell whether a next page exists
    before_id: int | None  # keyset cursor: builds older than this one


@loader
def build_by_id() -> DataLoader[int, Build | None]:
    return one_by(Build)


@loader
def build_pages() -> DataLoader[BuildPageKey, list[Build]]:
    """Newest-first builds of an app: one statement per app asked (builds are listed one app at a time)."""

    async def load(keys: Sequence[BuildPageKey]) -> list[list[Build]]:
        pages: list[list[Build]] = []
        for key in keys:
            query = Build.filter(app_id=key.app_id).order_by("-id")
            if key.before_id is not None:
                query = query.filter(id__lt=key.before_id)
            pages.append(await query.limit(key.limit) if key.limit else [])
        return pages

    return DataLoader(load_fn=load)
