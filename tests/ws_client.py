"""A small GraphQL-over-WebSocket client speaking both protocols, for tests against a live server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import websockets

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


async def _next(ws: Any, *, skip: tuple[str, ...]) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message["type"] not in skip:
            return message
