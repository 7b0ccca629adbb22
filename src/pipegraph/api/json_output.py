"""Results as JSON: orjson, several times faster than the standard library on a large read's result."""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterable, Mapping

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

logger = logging.getLogger(__name__)


def dumps(data: object) -> bytes:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        # What orjson refuses and the standard library writes: an integer past 64 bits or a key that is not a string,
        # inside a JSON scalar a client stored.
        return json.dumps(data, separators=(",", ":")).encode()


class OrjsonResponses:
    """Mixed into the GraphQL view: HTTP responses are the bytes orjson writes."""

    def encode_json(self, data: object) -> bytes:
        return dumps(data)


class TextFrameWebSocket(ASGIWebSocketAdapter):
    """strawberry sends bytes from `encode_json` as binary WebSocket frames, which graphql-ws clients refuse: messages
    stay text frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        await self._send_text(dumps(message))

    async def _send_text(self, text: bytes) -> None:
        try:
            await self.ws.send_text(text.decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def send_all_json(self, messages: Iterable[bytes], *, around: tuple[bytes, bytes] = (b"", b"")) -> None:
        """Several messages, each already its JSON text (`dumps`), or the middle of it (`around`: the same text
        before and after each), as `send_json` sends each, written to the socket at once where the server is
        uvicorn's websockets protocol (what `pipegraph serve` runs).

        ASGI sends one message at a time, each a write to the socket that wakes its reader: a 50-target burst's 250
        events cost 250 of them, most of what the API spent on the burst once its events were built. Here the
        frames are made as the connection's own protocol makes them (`text_frame_header`), in order, and written
        together, after the same wait for the socket to take more that uvicorn's `send` makes: each message's parts
        are copied once, into that write. Anything else (another server, a socket closing) sends them one by one,
        as ASGI does.
        """
        before, after = around
        protocol = _uvicorn_protocol(self.ws)
        if protocol is not None:
            await protocol.writable.wait()
        if protocol is None or not protocol.handshake_complete or protocol.close_sent or protocol.initial_response:
            for message in messages:  # (uvicorn's `send` says what is wrong with a socket closing)
                await self._send_text(before + message + after)
            return
        conn = protocol.conn
        if conn.state is not State.OPEN:  # the client closed: as uvicorn's `send` and starlette make of it
            raise WebSocketDisconnected
        sent = 0
        if conn.extensions:  # (a compression uvicorn was told to offer: the connection's own frames)
            for message in messages:
                conn.send_text(before + message + after)
                sent += 1
            frames = conn.data_to_send()
        else:  # whatever the connection had queued (a pong) first
            frames = conn.data_to_send()
            fixed = len(before) + len(after)
            for message in messages:
                frames += (text_frame_header(fixed + len(message)), before, message, after)
                sent += 1
        protocol.transport.write(b"".join(frames))
        logger.debug("%d messages written to the socket at once", sent)


# Stands for a message's data while the rest of it is written: a string no JSON of ours holds, but where a client's
# own subscription id does (`around_data` then declines).
_DATA_SLOT = "\x00pipegraph:data\x00"
_DATA_SLOT_JSON = dumps(_DATA_SLOT)


def around_data(message: Mapping[str, object], payload: Mapping[str, object]) -> tuple[bytes, bytes] | None:
    """The JSON text of `message` with `payload` as its payload, before and after the payload's `data`: with a data's
    own JSON text in between, the text `dumps` writes for the whole (orjson writes keys in order, with no space). None
    when the message holds the stand-in elsewhere too."""
    text = dumps({**message, "payload": {**payload, "data": _DATA_SLOT}})
    if text.count(_DATA_SLOT_JSON) != 1:
        return None
    before, _, after = text.partition(_DATA_SLOT_JSON)
    return before, after


_FIN_TEXT = 0x81  # a whole message (FIN) of text


_MEDIUM_HEADER = struct.Struct("!BBH").pack
_LONG_HEADER = struct.Struct("!BBQ").pack


def text_frame_header(length: int) -> bytes:
    """The header of a server's unmasked text frame without extensions, for a message of `length` bytes (RFC 6455,
    5.2): with the message after it, what the connection's `send_text` writes, without building a Frame for it (two
    microseconds, for each of a burst's 250 events)."""
    if length < 126:
        return bytes((_FIN_TEXT, length))
    if length < 1 << 16:
        return _MEDIUM_HEADER(_FIN_TEXT, 126, length)
    return _LONG_HEADER(_FIN_TEXT, 127, length)


def _uvicorn_protocol(socket: WebSocket) -> WebSocketsSansIOProtocol | None:
    """The uvicorn connection serving `socket`, found through its ASGI `receive`, a method of the connection's. Its
    `send` reaches the app wrapped by middleware (request ids, starlette's exception handling), which look only at
    HTTP responses: what a WebSocket's messages pass by here."""
    protocol = getattr(socket._receive, "__self__", None)
    if type(protocol) is not WebSocketsSansIOProtocol or not all(hasattr(protocol, name) for name in _USED):
        return None  # (a uvicorn whose connection no longer has what is used here: message by message, as ASGI)
    return protocol


# What `send_all_json` uses of uvicorn's connection, beyond ASGI: its internals, checked rather than relied on.
_USED = ("writable", "handshake_complete", "close_sent", "initial_response", "conn", "transport")
