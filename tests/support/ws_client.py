"""A small GraphQL-over-WebSocket client speaking both protocols, for tests against a live server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class SubscriptionError(Exception):
    pass


async def subscribe(
    host: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    protocol: str,
    init_payload: dict[str, Any],
) -> AsyncIterator[dict[str, Any]]:
    """Each result's `data`, until the server completes the subscription."""
    async with websockets.connect(f"ws://{host}/graphql", subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": init_payload}))
        ack = await _next(ws, skip=("ka",))
        if ack["type"] != "connection_ack":
            raise SubscriptionError(f"no connection_ack: {ack}")
        start = "subscribe" if protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await ws.send(json.dumps({"id": "1", "type": start, "payload": payload}))
        while True:
            message = await _next(ws, skip=("ka", "ping", "pong"))
            if message["type"] in ("next", "data"):
                if message["payload"].get("errors"):
                    raise SubscriptionError(message["payload"]["errors"])
                yield message["payload"]["data"]
            elif message["type"] == "complete":
                return
            else:
                raise SubscriptionError(message)


def text_frame(data: str | bytes) -> str:
    """graphql-ws clients (the dashboard's among them) refuse binary frames: every message must be text."""
    assert isinstance(data, str), f"a binary WebSocket frame: {data[:80]!r}"
    return data


async def _next(ws: Any, *, skip: tuple[str, ...]) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(text_frame(await ws.recv()))
        if message["type"] not in skip:
            return message


# Step by step, for tests that watch each protocol message ---------------------------------------------------------

# Generous: only a broken server makes a test wait this long, and it then fails instead of hanging.
PATIENCE_SECONDS = 15


@asynccontextmanager
async def connect(host: str, protocol: str) -> AsyncIterator[Any]:
    async with websockets.connect(f"ws://{host}/graphql", subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        yield ws


async def receive(ws: Any) -> dict[str, Any]:
    """The next protocol message, keep-alives skipped."""
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            message: dict[str, Any] = json.loads(text_frame(await ws.recv()))
            if message["type"] not in ("ka", "ping", "pong"):
                return message


async def closed(ws: Any) -> tuple[int | None, str | None, list[dict[str, Any]]]:
    """Read until the server closes: its close code and reason, and what it sent before."""
    before: list[dict[str, Any]] = []
    async with asyncio.timeout(PATIENCE_SECONDS):
        try:
            while True:
                before.append(json.loads(text_frame(await ws.recv())))
        except ConnectionClosed as closing:
            frame = closing.rcvd
            return (frame.code if frame else None), (frame.reason if frame else None), before


async def init(ws: Any, payload: dict[str, Any] | None) -> None:
    await ws.send(json.dumps({"type": "connection_init", **({"payload": payload} if payload is not None else {})}))


async def start(
    ws: Any, protocol: str, query: str, variables: dict[str, Any] | None = None, *, operation_id: str = "1"
) -> None:
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    payload = {"query": query, "variables": variables or {}}
    await ws.send(json.dumps({"id": operation_id, "type": kind, "payload": payload}))
