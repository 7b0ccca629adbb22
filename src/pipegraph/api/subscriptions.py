"""What every subscription starts with: the stream hub, the row an ID names, and a log followed while it is visible."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry import relay

from pipegraph.api.context import Info
from pipegraph.apps.types import sees_apps
from pipegraph.core.errors import ClientError, NotFound
from pipegraph.core.relay import NO_ROW_ID, db_id
from pipegraph.streams.hub import StreamHub


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
    info: Info, lines: AsyncIterator[str], *, app_id: int, what: str, row_id: int, field: str
) -> AsyncIterator[tuple[int, str]]:
    """A log's lines, numbered from 1, for as long as the viewer still sees its app (rights read again before each:
    a collaborator removed meanwhile sees no more)."""
    number = 0
    async for line in lines:
        info.context.refresh()
        if app_id not in await sees_apps(info, [app_id]):
            raise NotFound(what, row_id, field=field)
        number += 1
        yield number, line
