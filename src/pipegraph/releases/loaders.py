"""Release loaders, including the page of each app's newest releases in one windowed statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, one_by
from pipegraph.releases.models import Release


class ReleasePageKey(NamedTuple):
    app_id: int
    limit: int  # rows to fetch: the page size plus one to tell whether a next page exists
    before_version: int | None  # keyset cursor: versions below this one


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


def _page_sql(app_ids: Sequence[int], limit: int, before_version: int | None) -> str:
    # Only integers are interpolated (typed and converted here), so the statement stays injection-free while
    # keeping one statement for any number of apps; ROW_NUMBER() works on SQLite 3.25+ and PostgreSQL alike.
    ids = ",".join(str(int(app_id)) for app_id in app_ids)
    before = f" AND version < {int(before_version)}" if before_version is not None else ""
    return (
        "SELECT * FROM releases WHERE id IN ("
        " SELECT id FROM ("
        "  SELECT id, ROW_NUMBER() OVER (PARTITION BY app_id ORDER BY version DESC) AS position"
        f"  FROM releases WHERE app_id IN ({ids}){before}"
        f" ) ranked WHERE position <= {int(limit)}"
        ") ORDER BY app_id, version DESC"
    )


@loader
def release_pages() -> DataLoader[ReleasePageKey, list[Release]]:
    """Newest-first releases for many apps at once: one statement per distinct (page size, cursor)."""

    async def load(keys: Sequence[ReleasePageKey]) -> list[list[Release]]:
        by_shape: dict[tuple[int, int | None], set[int]] = defaultdict(set)
        for key in keys:
            by_shape[(key.limit, key.before_version)].add(key.app_id)
        pages: dict[ReleasePageKey, list[Release]] = defaultdict(list)
        for (limit, before), app_ids in by_shape.items():
            if limit == 0:
                continue
            rows: list[Release] = await Release.raw(_page_sql(sorted(app_ids), limit, before))
            for release in rows:
                pages[ReleasePageKey(release.app_id, limit, before)].append(release)
        return [pages.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
