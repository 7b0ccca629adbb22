"""DataLoader builders: one batched statement per relation per request, however deep the query goes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

M = TypeVar("M", bound=Model)
K = TypeVar("K", bound=Hashable)


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
