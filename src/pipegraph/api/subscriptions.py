"""What every subscription starts with: the stream hub, the row an ID names, and a log followed while it is visible."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TypeVar

from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.api.event_batches import prepare
from pipegraph.apps.types import sees_apps
from pipegraph.core.errors import ClientError, NotFound
from pipegraph.core.relay import NO_ROW_ID, db_id
from pipegraph.streams.hub import StreamHub

T = TypeVar("T")


def stream_hub(info: Info) -> StreamHub:
    """The process's shared stream readers, once the socket is signed in and the server has Redis."""
    if info.context.viewer is None:
        raise ClientError("not authenticated: send the token in connection_init")
    if info.context.streams is None:
        raise ClientError("subscriptions need Redis, and this server has none configured")
    return info.context.streams


def row_key(id: relay.GlobalID, type_name: str, *, field: str) -> int:
    """The database key of a global ID that must name a `type_name` (a clear error for any other)."""
    if id.type_name != type_name:
        raise ClientError(f"{id} is not the ID of a {type_name}")
    key = db_id(id.node_id)
    if key == NO_ROW_ID:  # a key no row can have (too long, not ASCII digits): as for one that does not exist
        raise NotFound(type_name.lower(), id.node_id, field=field)
    return key


async def lines_while_visible(
    info: Info,
    batches: AsyncIterator[list[str]],
    make: Callable[[int, str], T],
    *,
    sees: Callable[[], Awaitable[bool]],
    missing: Exception,
) -> AsyncIterator[T]:
    """A log's lines, numbered from 1 and made into events by `make`, batch by batch for as long as the viewer still
    sees it (`sees`, asked again before each batch with fresh rows and rights: whoever lost sight gets nothing of the
    next batch; `missing` is raised then). A batch goes as one result where the selection is planned
    (api/event_batches.py)."""
    number = 0
    async for lines in batches:
        info.context.refresh()
        if not await sees():
            raise missing
        numbered = [make(number + offset, line) for offset, line in enumerate(lines, start=1)]
        number += len(lines)
        for event in prepare(info, numbered, _same).events():
            yield event


def app_log_lines(
    info: Info, batches: AsyncIterator[list[str]], make: Callable[[int, str], T], *, app_id: int, missing: Exception
) -> AsyncIterator[T]:
    """An app's log (a release phase's, a build's) for as long as the viewer still sees the app."""
    return lines_while_visible(info, batches, make, sees=partial(_sees_app, info, app_id), missing=missing)


async def _sees_app(info: Info, app_id: int) -> bool:
    return app_id in await sees_apps(info, [app_id])


def _same(event: T) -> T:
    return event
