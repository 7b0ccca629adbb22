"""Request bodies: a size limit on every route, checked before a body is read whole, and GraphQL bodies that are
JSON objects in UTF-8 or a clear 400."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_FIELDS: dict[str, tuple[type, ...]] = {
    "query": (str,),
    "variables": (dict,),
    "operationName": (str,),
    "extensions": (dict,),
}
_JSON_TYPES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
}


def _json_kind(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


class StrictJSONBody:
    """Mixed into the GraphQL view: strawberry answered 500 to a body that was valid JSON but not an object, or not
    UTF-8 at all. Each is a 400 here that says what a request body must be.

    orjson reads a well-formed body (several times faster); one it refuses (not UTF-8, NaN, a number past 64 bits,
    too deep) is read by the standard library, as before, which accepts the same or says what is wrong."""

    def parse_json(self, data: str | bytes) -> Any:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library's reading below says what is wrong, in its words
        else:
            return self._request_fields(parsed)
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as error:
            raise HTTPException(400, f"The request body is not valid UTF-8 (byte {error.start})") from None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise HTTPException(400, f"The request body is not valid JSON: {error}") from None
        except RecursionError:
            raise HTTPException(400, "The request body is not valid JSON: it nests too deep") from None
        return self._request_fields(parsed)

    def _request_fields(self, parsed: Any) -> Any:
        if not isinstance(parsed, dict):
            raise HTTPException(
                400,
                f'A GraphQL request body must be a JSON object such as {{"query": "{{ viewer {{ email }} }}"}}, '
                f"not {_json_kind(parsed)}",
            )
        for field, kinds in _REQUEST_FIELDS.items():
            value = parsed.get(field)
            if value is not None and not isinstance(value, kinds):
                expected = "a string" if kinds == (str,) else "an object"
                raise HTTPException(400, f"`{field}` must be {expected} or null, not {_json_kind(value)}")
        return parsed


class BodyTooLarge(Exception):
    pass


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": f"The request body is larger than the limit of {limit} bytes",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                }
            ],
        },
        status_code=413,
    )


class BodyLimit:
    """Refuses a request body over `max_bytes` with a 413: at once when its Content-Length says so, and as soon as
    the bytes received pass the limit when it does not (chunked), so that no route reads an oversized body whole.

    Paths under `own_limit_prefixes` pass untouched: those routes stream their body to disk and enforce a larger
    limit of their own (slug uploads: PIPEGRAPH_SLUG_MAX_BYTES), with their own error.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, own_limit_prefixes: Sequence[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limit_prefixes = tuple(own_limit_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.own_limit_prefixes):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:  # a route that answered before reading its body whole: nothing left to say
                raise
            await too_large(limit)(scope, receive, send)
