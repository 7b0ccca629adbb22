"""WebSocket handlers that re-check the connection's token: a revoked token stops working at once, not at reconnect.

The token is checked in `connection_init` (PipegraphGraphQL.on_ws_connect). After that, both protocols pass every
client message and every result through the two methods below, so this is where an open socket learns that its token
was revoked: the next message is refused and the socket closed with 4401, and a running subscription is cut off before
it delivers its next event. While the process hears access notices (api/live_access.py) that check is in memory, and
a notice closes the socket at once; otherwise, and once per socket before it relies on them, it reads the database.

A batch of planned events (api/event_batches.py) reaches `send_message` as one result: it is checked once, like one
event, and written as one message per event, the same messages as one result each (each event's JSON, made once for
every socket, in the socket's own message around it), in one write to the socket where the server allows it
(api/json_output.py); a revocation heard while it is written stops it there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from pipegraph.accounts.service import is_live, now
from pipegraph.accounts.sessions import live_sessions
from pipegraph.api.context import Context
from pipegraph.api.event_batches import PlannedEvents
from pipegraph.api.json_output import around_data, dumps

REVOKED_CLOSE_CODE = 4401
REVOKED_REASON = "API token revoked"  # or the browser session ended: the same close, the same reason to reconnect
# A result carries the viewer's data; a keep-alive or protocol message does not, and needs no database round trip.
_RESULT_TYPES = frozenset({"next", "data"})


class _TokenGuard:
    """Mixed into both protocol handlers; `context`, `websocket` and `connection_acknowledged` are theirs."""

    context: Context
    websocket: Any
    connection_acknowledged: bool
    _closed_for_revocation: bool = False
    # Set once the process's access notices watch this socket: from then on its check is in memory.
    _watched: bool = False
    _session_expires: datetime | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context.event_batches = True  # `send_message` below unpacks them

    async def send_message(self, message: Any) -> None:
        """Every message either protocol sends: a result only after the token's check, and a batch of planned events
        as its messages."""
        carries_data = message.get("type") in _RESULT_TYPES or self._closed_for_revocation
        if carries_data and await self._token_revoked():
            return  # the socket is closing; its operations are cancelled when the handler shuts down
        payload = message.get("payload")
        batch = payload.get("data") if carries_data and isinstance(payload, dict) else None
        if type(batch) is not PlannedEvents:
            await self.websocket.send_json(message)
            return
        # Each event's JSON (made once for every socket it goes to) in this socket's message around it. Written as
        # they are made, and none once revoked meanwhile: a notice heard while a write waited (uvicorn's protocol
        # takes them all in one write, with no wait in between).
        around = around_data(message, payload)
        if around is None:  # (a subscription id holding the stand-in for the data: each message written whole)
            whole = (dumps({**message, "payload": {**payload, "data": data}}) for data in batch.data)
            await self.websocket.send_all_json(text for text in whole if not self._closed_for_revocation)
            return
        datas = (event.json() for event in batch.events if not self._closed_for_revocation)
        await self.websocket.send_all_json(datas, around=around)

    def credential(self) -> tuple[int | None, int | None]:
        return self.context.token_id, self.context.session_id

    async def close_revoked(self) -> None:
        if self._closed_for_revocation:
            return
        self._closed_for_revocation = True  # before any await: nothing is sent from here on
        await self.websocket.close(code=REVOKED_CLOSE_CODE, reason=REVOKED_REASON)

    async def _credential_live(self) -> bool:
        token_id, session_id = self.credential()
        access = self.context.live_access
        if access is not None and access.live and self._watched:
            if access.credential_revoked(token_id, session_id):
                return False
            return self._session_expires is None or now() < self._session_expires
        # Not watched yet, or notices are not heard now: the database says, and then the notices take over.
        listening = access.listening_since() if access is not None else None
        if token_id is not None:
            live = await is_live(token_id)
        elif session_id is not None:
            expires = (await live_sessions([session_id])).get(session_id)
            live = expires is not None and now() < expires
            self._session_expires = expires
        else:
            return True
        if live and access is not None:
            self._watched = access.watch(self, listening)
        return live

    async def _token_revoked(self) -> bool:
        if self._closed_for_revocation:
            return True
        if not self.connection_acknowledged or await self._credential_live():
            return False
        await self.close_revoked()
        return True


class TransportWSHandler(_TokenGuard, BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Any) -> None:
        if not await self._token_revoked():
            await super().handle_message(message)


class LegacyWSHandler(_TokenGuard, BaseGraphQLWSHandler[Context, None]):
    async def handle_message(self, message: Any) -> None:
        if not await self._token_revoked():
            await super().handle_message(message)
