"""Bearer-token authentication in front of the GraphQL endpoint: a bad or missing token never reaches a resolver."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pipegraph.accounts.models import User
from pipegraph.accounts.service import authenticate


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def unauthenticated(message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="pipegraph"'},
    )


async def viewer_for(authorization: str | None) -> User | str:
    """The token's user, or the reason there is none (to tell the client plainly)."""
    token = bearer_token(authorization)
    if token is None:
        return "missing API token: send the header `Authorization: Bearer <token>` (pipegraph tokens create)"
    user = await authenticate(token)
    if user is None:
        return "invalid or revoked API token"
    return user


class RequireToken:
    """Every GraphQL POST needs a valid token; GET only serves the GraphiQL page, which holds no data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            result = await viewer_for(Headers(scope=scope).get("authorization"))
            if isinstance(result, str):
                await unauthenticated(result)(scope, receive, send)
                return
            scope.setdefault("state", {})["viewer"] = result
        await self.app(scope, receive, send)
