"""Node resolution and keyset pagination, shared by every domain's types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from strawberry import relay
from tortoise.models import Model

from pipegraph.api.context import Info
from pipegraph.core.loaders import Loader
from pipegraph.core.relay import (
    build_connection,
    db_id,
    decode_int_cursor,
    decode_name_cursor,
    encode_cursor,
    page_size,
)

M = TypeVar("M", bound=Model)
R = TypeVar("R")
C = TypeVar("C", str, int)
N = TypeVar("N", bound=relay.Node)
Seen = Callable[[Info, list[M]], Awaitable[Collection[Any]]]


def resolve_visible(load: Loader[int, M | None], seen: Seen[M]) -> Any:
    """A `resolve_nodes` for a node type with `from_model`: rows come through the operation's loader, and only those
    whose key `seen` returns are shown; any other id, malformed ones included, resolves to null.

    `resolve_nodes = resolve_visible(app_by_id, seen_apps)` in the class body: the one implementation of relay's
    overloaded classmethod (typed Any here, so no type declares its own override).
    """

    async def resolve_nodes(
        cls: Any, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any | None]:
        rows = await info.context.loaders[load].load_many([db_id(node_id) for node_id in node_ids])
        kept = set(await seen(info, [row for row in rows if row is not None]))
        return [cls.from_model(row) if row is not None and row.pk in kept else None for row in rows]

    return classmethod(resolve_nodes)


async def seen_all(info: Info, rows: list[Any]) -> list[Any]:
    """For node types whose loader already keeps to what the viewer may see."""
    return [row.pk for row in rows]


@dataclass(frozen=True)
class Keyset(Generic[C]):
    """A list's cursor: its kind (so a cursor of another list is refused) and how a value is read back from one."""

    kind: str
    decode: Callable[[str, str | None], C | None]

    @staticmethod
    def by_name(kind: str) -> Keyset[str]:
        return Keyset(kind, decode_name_cursor)

    @staticmethod
    def by_number(kind: str) -> Keyset[int]:
        return Keyset(kind, decode_int_cursor)


async def keyset_page(
    keyset: Keyset[C],
    *,
    first: int | None,
    after: str | None,
    fetch: Callable[[int, C | None], Awaitable[Sequence[R]]],
    key: Callable[[R], C],
    node_of: Callable[[R], N],
) -> relay.Connection[N]:
    """A page of a keyset-paginated list: `fetch(limit, after)` returns up to `limit` rows past the cursor's value,
    in the list's order; one row more than the page tells that a next page exists."""
    size = page_size(first)
    after_value = keyset.decode(keyset.kind, after)
    rows = await fetch(size + 1, after_value)
    return build_connection(
        rows,
        first=size,
        cursor_of=lambda row: encode_cursor(keyset.kind, key(row)),
        node_of=node_of,
        has_previous_page=after_value is not None,
    )
