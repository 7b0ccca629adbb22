"""What stands in front of the GraphQL endpoint: JSON-only POSTs and a bearer token or a same-site session cookie,
checked before any resolver."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipegraph.access.preload import rights_of
from pipegraph.access.rights import Rights
from pipegraph.accounts.models import ApiToken, User
from pipegraph.accounts.service import authenticate
from pipegraph.accounts.sessions import session_for
from pipegraph.db import UNAVAILABLE_MESSAGE, database_unavailable

if TYPE_CHECKING:
    from pipegraph.access.preload import Along
    from pipegraph.api.speculation import Speculation

SESSION_COOKIE = "pipegraph_session"

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


async def token_for(authorization: str | None, along: Along | None = None) -> ApiToken | str:
    """The live token (its user loaded), or the reason there is none (to tell the client plainly)."""
    secret = bearer_token(authorization)
    if secret is None:
        return "missing API token: send the header `Authorization: Bearer <token>` (pipegraph tokens create)"
    token = await authenticate(secret, rights=True, along=along)
    if token is None:
        return "invalid or revoked API token"
    return token


@dataclass(frozen=True)
class Credential:
    """Who is asking, and with what: exactly one of an API token and a browser session."""

    user: User
    token_id: int | None = None
    session_id: int | None = None
    # The user's rights, read by the same statement: for queries only (access/preload.py).
    rights: Rights | None = None
    # The rows of the read done along with it, when one was asked for (api/speculation.py).
    along_rows: Sequence[Any] | None = None


def same_origin(headers: Headers) -> bool:
    """Whether the request comes from a page of this very host (Origin's host:port equals the Host header's).

    A browser sets Origin itself on every WebSocket and every cross-origin POST, and a page cannot forge it. No Origin
    at all is a program, not a browser page, and it has no cookie of ours unless someone handed it one.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    host = (headers.get("host") or "").lower()
    return bool(host) and urlsplit(origin).netloc.lower() == host


async def credential_for(headers: Headers, along: Along | None = None) -> Credential | str:
    """A bearer token first (programs); else the session cookie (the dashboard), only from a same-origin page.

    `along`: a statement to read in the credential's own round trip (access/preload.py), its rows in `along_rows`."""
    authorization = headers.get("authorization")
    cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    if authorization or not cookie:
        result = await token_for(authorization, along)
        if isinstance(result, str):
            return result
        return Credential(
            user=result.user, token_id=result.id, rights=rights_of(result), along_rows=_along_rows(result)
        )
    if not same_origin(headers):
        return "the session cookie is accepted only from pages of this server (the Origin header names another site)"
    session = await session_for(cookie, rights=True, along=along)
    if session is None:
        return "your browser session ended or expired: sign in again with a fresh link (pipegraph dev prints one)"
    return Credential(
        user=session.user, session_id=session.id, rights=rights_of(session), along_rows=_along_rows(session)
    )


def _along_rows(credential: object) -> Sequence[Any] | None:
    rows: Sequence[Any] | None = getattr(credential, "along_rows", None)
    return rows


class RequireToken:
    """Every GraphQL POST needs a JSON body and a valid token or session; GET only serves pages, which hold no data.

    The content type is checked first, before any execution: a browser sends form, multipart and text POSTs cross-site
    without a CORS preflight, `application/json` only after one that another site cannot pass. That rule is what lets
    the dashboard's session cookie (SameSite too) stand in for a token: a forged cross-site request never gets past it,
    and a same-site one that names another Origin is refused as well. Nothing runs over GET, with or without a cookie.
    """

    def __init__(self, app: ASGIApp, speculate: Callable[[bytes], Speculation | None] | None = None) -> None:
        """`speculate`: the read a request body lets its credential check read along (api/speculation.py)."""
        self.app = app
        self.speculate = speculate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "GET":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "POST" and not is_json(headers.get("content-type")):
            await graphql_error(JSON_ONLY, "UNSUPPORTED_MEDIA_TYPE", 415)(scope, receive, send)
            return
        speculation: Speculation | None = None
        if self.speculate is not None and _may_speculate(scope, headers):
            receive, speculation = await self._speculate(receive)
        try:
            result = await self._credential(headers, speculation)
        except Exception as error:
            if not database_unavailable(error):
                raise
            await unavailable()(scope, receive, send)
            return
        if isinstance(result, str):
            await unauthenticated(result)(scope, receive, send)
            return
        rows = result.along_rows
        if speculation is not None:
            # A known query whose whole answer the rows hold is answered here, as the view would (api/speculation.py).
            answer = await speculation.answer(result.user, result.rights, rows)
            if answer is not None:
                await answer(scope, receive, send)
                return
        state = scope.setdefault("state", {})
        state["viewer"] = result.user
        state["token_id"] = result.token_id
        state["session_id"] = result.session_id
        state["rights"] = result.rights
        state["prefetched"] = speculation.prefetched(rows) if speculation is not None and rows is not None else None
        await self.app(scope, receive, send)

    @staticmethod
    async def _credential(headers: Headers, speculation: Speculation | None) -> Credential | str:
        """The credential, with the speculated read's rows; a read along that fails for any reason but an outage is
        left out, and the credential read alone, as without it (the request's own read then reads, or fails, as
        always)."""
        if speculation is None:
            return await credential_for(headers)
        try:
            return await credential_for(headers, speculation.along)
        except Exception as error:
            if database_unavailable(error):
                raise
        return await credential_for(headers)

    async def _speculate(self, receive: Receive) -> tuple[Receive, Speculation | None]:
        """Read the body (small: its length was declared within the limit), decide the read it allows, and hand the
        body on to the view as it came."""
        assert self.speculate is not None
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return _replay(messages, receive), None  # the client went away: the view sees it as before
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        return _replay(messages, receive), self.speculate(body)


def _may_speculate(scope: Scope, headers: Headers) -> bool:
    """A POST with a declared body length (BodyLimit refused one over the limit) and a credential to check."""
    has_credential = "authorization" in headers or SESSION_COOKIE in headers.get("cookie", "")
    return scope["method"] == "POST" and headers.get("content-length", "").isdigit() and has_credential


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` as the view should see it: the messages already read, then the client's own."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
