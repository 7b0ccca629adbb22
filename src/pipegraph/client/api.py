"""A thin GraphQL client of a pipegraph API: queries and mutations over HTTP, subscriptions over WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import click
import httpx
import websockets
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from pipegraph.client.config import Credentials
from pipegraph.client.operations import document

TIMEOUT_SECONDS = 30
TRANSPORT_WS = Subprotocol("graphql-transport-ws")
TOKEN_REFUSED_CLOSE_CODES = {4401, 4403}
# Seconds before each new try; about half a minute in all covers an API replica restarting.
RECONNECT_DELAYS = (0.2, 0.5, 1, 2, 4, 8, 15)


class ApiError(click.ClickException):
    """What the API (or the way to it) said no with; printed as `Error: message (CODE)`, exit status 1."""

    exit_code = 1

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(f"{message} ({code})" if code else message)
        self.code = code


class ConnectionLost(ApiError):
    """The WebSocket could not be opened or dropped mid-stream: worth trying again, unlike a refusal."""


def user_errors(errors: list[dict[str, Any]]) -> ApiError:
    messages = "; ".join(f"{error['message']}" for error in errors)
    codes = ", ".join(dict.fromkeys(str(error["code"]) for error in errors))
    return ApiError(messages, codes)


class Api:
    """One API and token; `query` returns `data`, `mutate` a payload whose `userErrors` became an ApiError."""

    def __init__(self, credentials: Credentials) -> None:
        self.base_url = credentials.api_url
        self.token = credentials.token
        self.graphql_url = f"{self.base_url}/graphql"
        self.ws_url = "ws" + self.graphql_url.removeprefix("http")
        self._http = httpx.Client(
            timeout=TIMEOUT_SECONDS, headers={"Authorization": f"Bearer {self.token}", "User-Agent": "pipegraph-cli"}
        )

    def query(self, operation: str, **variables: Any) -> dict[str, Any]:
        """Run `operations/<operation>.graphql` and return its `data`."""
        try:
            response = self._http.post(self.graphql_url, json={"query": document(operation), "variables": variables})
        except httpx.HTTPError as error:
            raise ApiError(f"cannot reach the pipegraph API at {self.base_url}: {_reason(error)}") from None
        body = self._json(response)
        if response.status_code == 401:
            raise ApiError(self._refused(body))
        if body.get("errors"):
            raise _graphql_errors(body["errors"])
        if response.status_code != 200 or not isinstance(body.get("data"), dict):
            raise ApiError(f"the pipegraph API at {self.base_url} answered HTTP {response.status_code}")
        data: dict[str, Any] = body["data"]
        return data

    def mutate(self, operation: str, **input: Any) -> dict[str, Any]:
        """Run a mutation taking one `input`; its payload, or an ApiError with the user errors it returned."""
        data = self.query(operation, input=input)
        payload: dict[str, Any] = next(iter(data.values()))
        if payload.get("userErrors"):
            raise user_errors(payload["userErrors"])
        return payload

    def close(self) -> None:
        self._http.close()

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
            raise ApiError(
                f"{self.base_url} is not a pipegraph API: POST {self.graphql_url} answered HTTP "
                f"{response.status_code} without a GraphQL response"
            )
        return body

    def _refused(self, body: dict[str, Any]) -> str:
        reason = "; ".join(str(e.get("message")) for e in body.get("errors") or []) or "unauthorized"
        return f"the pipegraph API at {self.base_url} refused the token ({reason}): run `pipegraph login` again"

    async def subscribe(self, operation: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
        """Each result's `data` of a subscription until the server completes it (graphql-transport-ws)."""
        try:
            async with connect(self.ws_url, subprotocols=[TRANSPORT_WS], open_timeout=TIMEOUT_SECONDS) as ws:
                await ws.send(
                    json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
                )
                await _expect_ack(ws)
                payload = {"query": document(operation), "variables": variables}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                async for raw in ws:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif kind == "next":
                        if message["payload"].get("errors"):
                            raise _graphql_errors(message["payload"]["errors"])
                        yield message["payload"]["data"]
                    elif kind == "error":
                        raise _graphql_errors(message.get("payload") or [])
                    elif kind == "complete":
                        return
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            if code in TOKEN_REFUSED_CLOSE_CODES:
                raise ApiError(
                    f"the pipegraph API at {self.base_url} refused the token: run `pipegraph login` again"
                ) from None
            raise ConnectionLost(f"the connection to {self.ws_url} closed unexpectedly ({closed})") from None
        except (OSError, websockets.InvalidHandshake, TimeoutError) as error:
            raise ConnectionLost(f"cannot reach the pipegraph API at {self.ws_url}: {error}") from None

    async def resume(
        self, operation: str, *, on_retry: Callable[[ConnectionLost], None], **variables: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """`subscribe`, subscribing again when the connection drops (an API restart, a network blip).

        pipegraph's subscriptions start over with the current state (promotionProgress) or from the first line
        (releaseLog), so the caller sees some results twice and nothing lost; it skips what it has already shown.
        """
        failures = 0
        while True:
            try:
                async for data in self.subscribe(operation, **variables):
                    failures = 0
                    yield data
                return
            except ConnectionLost as lost:
                failures += 1
                if failures > len(RECONNECT_DELAYS):
                    raise
                on_retry(lost)
                await asyncio.sleep(RECONNECT_DELAYS[failures - 1])


async def _expect_ack(ws: Any) -> None:
    while True:
        message = json.loads(await ws.recv())
        if message.get("type") == "connection_ack":
            return
        if message.get("type") != "ping":
            raise ApiError(f"the API did not accept the WebSocket connection: {message}")


def _graphql_errors(errors: list[dict[str, Any]]) -> ApiError:
    codes = ", ".join(dict.fromkeys(str((e.get("extensions") or {}).get("code", "ERROR")) for e in errors))
    return ApiError("; ".join(str(e.get("message")) for e in errors) or "subscription failed", codes)


def _reason(error: httpx.HTTPError) -> str:
    # httpx's own messages for refused connections are terse ("[Errno 111] Connection refused"); keep them, one line.
    return str(error).splitlines()[0] if str(error) else type(error).__name__
