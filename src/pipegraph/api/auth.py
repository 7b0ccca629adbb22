"""Bearer-token authentication in front of the GraphQL endpoint: a bad or missing token never reaches a resolver."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pipegraph.accounts.models import ApiToken
from pipegraph.accounts.service import authenticate


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
    """Every GraphQL POST needs a valid token; GET only serves the GraphiQL page, which holds no data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "GET":
            result = await token_for(Headers(scope=scope).get("authorization"))
            if isinstance(result, str):
                await unauthenticated(result)(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["viewer"] = result.user
            state["token_id"] = result.id
        await self.app(scope, receive, send)
