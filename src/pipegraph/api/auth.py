"""What stands in front of the GraphQL endpoint: JSON-only POSTs and a bearer token, checked before any resolver."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pipegraph.accounts.models import ApiToken
from pipegraph.accounts.service import authenticate
from pipegraph.db import UNAVAILABLE_MESSAGE, database_unavailable

JSON_ONLY = (
    "GraphQL requests must be POSTs with `Content-Type: application/json`: form, multipart and text bodies are refused "
    "because a browser sends those cross-site without asking first"
)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def graphql_error(message: str, code: str, status_code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status_code,
        headers=headers,
    )


def unauthenticated(message: str) -> JSONResponse:
    return graphql_error(message, "UNAUTHENTICATED", 401, {"WWW-Authenticate": 'Bearer realm="pipegraph"'})


def unavailable() -> JSONResponse:
    """The database is away for a moment: a 503 a client or load balancer retries, not a bare 500."""
    return graphql_error(UNAVAILABLE_MESSAGE, "DATABASE_UNAVAILABLE", 503, {"Retry-After": "5"})


def is_json(content_type: str | None) -> bool:
    """The media type itself, not a substring: `text/plain; x=application/json` is text, and needs no preflight."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


async def token_for(authorization: str | None) -> ApiToken | str:
    """The live token (its user loaded), or the reason there is none (to tell the client plainly)."""
    secret = bearer_token(authorization)
    if secret is None:
        return "missing API token: send the header `Authorization: Bearer <token>` (pipegraph tokens create)"
    token = await authenticate(secret)
    if token is None:
        return "invalid or revoked API token"
    return token


class RequireToken:
    """Every GraphQL POST needs a JSON body and a valid token; GET only serves the GraphiQL page, which holds no data.

    The content type is checked first, before any execution: a browser sends form, multipart and text POSTs cross-site
    without a CORS preflight, `application/json` only after one that another site cannot pass. Tokens travel in a
    header no browser adds by itself, but a proxy that adds credentials, or a cookie one day, must not open that door.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            headers = Headers(scope=scope)
            if scope["method"] == "POST" and not is_json(headers.get("content-type")):
                await graphql_error(JSON_ONLY, "UNSUPPORTED_MEDIA_TYPE", 415)(scope, receive, send)
                return
            try:
                result = await token_for(headers.get("authorization"))
            except Exception as error:
                if not database_unavailable(error):
                    raise
                await unavailable()(scope, receive, send)
                return
            if isinstance(result, str):
                await unauthenticated(result)(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["viewer"] = result.user
            state["token_id"] = result.id
        await self.app(scope, receive, send)
