"""DataLoaders: one batched statement per relation per operation, however deep the query goes.

Each domain declares its loaders in its own `loaders.py` with `@loader`; an operation's `Loaders` builds each one the
first time a resolver asks for it (`info.context.loaders[app_by_id]`), so the API layer lists none of them and a
new domain adds loaders without touching it. Never a module-level DataLoader: it would cache for ever.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

from strawberry.dataloader import DataLoader
from tortoise.models import Model

M = TypeVar("M", bound=Model)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def one_by(model: type[M], field: str = "id") -> DataLoader[Any, M | None]:
    """Loads rows of `model` by a unique `field`; a missing key yields None."""

    async def load(keys: Sequence[Any]) -> list[M | None]:
        rows = await model.filter(**{f"{field}__in": list(set(keys))})
        found = {getattr(row, field): row for row in rows}
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def many_by(
    model: type[M], field: str, *, order_by: Sequence[str] = ("id",), related: Sequence[str] = ()
) -> DataLoader[Any, list[M]]:
    """Loads every row of `model` whose `field` is each key (a one-to-many relation)."""

    async def load(keys: Sequence[Any]) -> list[list[M]]:
        query = model.filter(**{f"{field}__in": list(set(keys))}).order_by(*order_by)
        if related:
            query = query.select_related(*related)
        grouped: dict[Any, list[M]] = {key: [] for key in keys}
        for row in await query:
            grouped[getattr(row, field)].append(row)
        return [grouped[key] for key in keys]

    return DataLoader(load_fn=load)


def prime_all(loader: DataLoader[K, M | None], rows: Sequence[M], key: Callable[[M], K]) -> None:
    """Seed a by-key loader with rows already fetched by a join, sparing a second statement."""
    for row in rows:
        loader.prime(key(row), row)


class Loader(Generic[K, V]):
    """A declared DataLoader: the key to ask an operation's `Loaders` for it, typed by what it loads."""

    def __init__(self, build: Callable[[], DataLoader[K, V]]) -> None:
        self.build = build
        self.name = f"{build.__module__}.{build.__qualname__}"

    def __repr__(self) -> str:
        return f"Loader({self.name})"


def loader(build: Callable[[], DataLoader[K, V]]) -> Loader[K, V]:
    """Declare a loader: `@loader def app_by_id() -> DataLoader[int, App | None]: return one_by(App)`."""
    return Loader(build)


class Loaders:
    """One operation's DataLoaders, each built on first use."""

    def __init__(self) -> None:
        self._built: dict[Loader[Any, Any], DataLoader[Any, Any]] = {}

    def __getitem__(self, declared: Loader[K, V]) -> DataLoader[K, V]:
        built = self._built.get(declared)
        if built is None:
            built = self._built[declared] = declared.build()
        return cast("DataLoader[K, V]", built)


class PageKey(NamedTuple):
    """A page of one parent's children, newest first: `limit` rows (the page size plus one, to tell whether a next
    page exists) whose order value is below `before` (the keyset cursor), if set."""

    parent_id: int
    limit: int
    before: int | None


def newest_first_pages(model: type[M], *, parent: str, order: str, where: str = "") -> DataLoader[PageKey, list[M]]:
    """Pages of many parents' children (an app's releases, its builds) in one windowed statement per page shape.

    `where` is a fixed SQL condition on the children, written by the loader's declaration (never a client's value).
    """
    table = model._meta.db_table
    only = f" AND ({where})" if where else ""

    def sql(parent_ids: Sequence[int], limit: int, before: int | None) -> str:
        # Only integers are interpolated (typed and converted here), so the statement stays injection-free while
        # keeping one statement for any number of parents; ROW_NUMBER() works on SQLite 3.25+ and PostgreSQL alike.
        ids = ",".join(str(int(parent_id)) for parent_id in parent_ids)
        below = f" AND {order} < {int(before)}" if before is not None else ""
        return (
            f"SELECT * FROM {table} WHERE id IN ("
            " SELECT id FROM ("
            f"  SELECT id, ROW_NUMBER() OVER (PARTITION BY {parent} ORDER BY {order} DESC) AS position"
            f"  FROM {table} WHERE {parent} IN ({ids}){below}{only}"
            f" ) ranked WHERE position <= {int(limit)}"
            f") ORDER BY {parent}, {order} DESC"
        )

    async def load(keys: Sequence[PageKey]) -> list[list[M]]:
        by_shape: dict[tuple[int, int | None], set[int]] = defaultdict(set)
        for key in keys:
            by_shape[(key.limit, key.before)].add(key.parent_id)
        pages: dict[PageKey, list[M]] = defaultdict(list)
        for (limit, before), parent_ids in by_shape.items():
            if limit == 0:
                continue
            rows: list[M] = await model.raw(sql(sorted(parent_ids), limit, before))
            for row in rows:
                pages[PageKey(getattr(row, parent), limit, before)].append(row)
        return [pages.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
