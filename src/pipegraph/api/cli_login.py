"""The HTTP side of `pipegraph login` in a browser (accounts/cli_login.py): outside GraphQL, like /login and /logout.

The CLI has no credential yet, so it starts a login and collects its token unauthenticated, holding the secret the start
gave it. The dashboard's page shows and answers the request with the session cookie only (never an API token), from a
page of this server (Origin), JSON only: a cross-site form cannot post here, and another site's page cannot read or
answer a request it does not have the code of anyway.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pipegraph.accounts import cli_login
from pipegraph.accounts.models import User
from pipegraph.accounts.sessions import session_for
from pipegraph.api.auth import JSON_ONLY, SESSION_COOKIE, is_json, same_origin
from pipegraph.api.rate_limits import AddressLimits
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.settings import Settings

START_PATH = "/cli-logins"
TOKEN_PATH = "/cli-logins/token"
PAGE_PATH = "/cli-login"  # the dashboard's page, /cli-login/<code>

# How the CLI reads each outcome: a status code its HTTP client can tell apart, and the outcome named in the body.
_STATUS = {
    cli_login.Outcome.CONFIRMED: 200,
    cli_login.Outcome.PENDING: 202,
    cli_login.Outcome.REFUSED: 403,
    cli_login.Outcome.UNKNOWN: 404,
    cli_login.Outcome.EXPIRED: 410,
    cli_login.Outcome.USED: 410,
}
_NO_STORE = {"Cache-Control": "no-store"}


def public_origin(request: Request) -> str:
    """The server's address as configured (PIPEGRAPH_PUBLIC_URL), else as the CLI reached it."""
    from pipegraph.api.app import origin_of  # the app module mounts this one

    public_url: str = request.app.state.settings.public_url
    return public_url or origin_of(request)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=_NO_STORE)


def _too_many(seconds: int, message: str) -> JSONResponse:
    response = _error(429, "TOO_MANY_REQUESTS", message)
    response.headers["Retry-After"] = str(seconds)
    return response


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    if not is_json(request.headers.get("content-type")):
        return _error(415, "UNSUPPORTED_MEDIA_TYPE", JSON_ONLY)
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "INVALID", "the body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "INVALID", "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


async def start(request: Request) -> Response:
    """`{"host": …}` → the URL to open and the secret to collect the token with (shown to the CLI only).

    Anyone may start one: starts are limited per client address (PIPEGRAPH_CLI_LOGIN_RATE) and pending logins in all
    (PIPEGRAPH_CLI_LOGIN_MAX_PENDING); past either, 429 with Retry-After, and nothing is stored."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    limits: AddressLimits = request.app.state.cli_login_limits
    wait = await limits.refusal(request)
    if wait is not None:
        return _too_many(wait, f"too many CLI logins started from your address: try again in {wait} s")
    settings: Settings = request.app.state.settings
    try:
        started = await cli_login.start(_text(body, "host"), max_pending=settings.cli_login_max_pending)
    except cli_login.TooManyPending as error:
        return _too_many(error.retry_after, f"{error}: in {error.retry_after} s at most")
    return JSONResponse(
        {
            "url": f"{public_origin(request)}{PAGE_PATH}/{started.code}",
            "secret": started.secret,
            "expiresAt": started.login.expires_at.isoformat(),
            "interval": cli_login.POLL_SECONDS,
        },
        status_code=201,
        headers=_NO_STORE,
    )


async def collect(request: Request) -> Response:
    """`{"secret": …}` → where the login stands; once confirmed, the new token and whose it is, this once."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    collected = await cli_login.collect(_text(body, "secret"))
    answer: dict[str, Any] = {"status": collected.outcome.value}
    if collected.token is not None and collected.user is not None:
        answer.update(token=collected.token, email=collected.user.email)
    return JSONResponse(answer, status_code=_STATUS[collected.outcome], headers=_NO_STORE)


async def _signed_in(request: Request) -> User | JSONResponse:
    """The dashboard user answering: the session cookie from a page of this server, never a bearer token."""
    if request.headers.get("authorization"):
        return _error(403, "FORBIDDEN", "a CLI login is answered in the dashboard, signed in: not with an API token")
    if not same_origin(request.headers):
        return _error(403, "FORBIDDEN", "the session cookie is accepted only from pages of this server")
    session = await session_for(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        return _error(
            401, "UNAUTHENTICATED", "sign in to the dashboard first: its page brings you back to this login request"
        )
    return session.user


async def _answering(request: Request) -> tuple[str, User] | JSONResponse:
    """The code a page names and the signed-in user answering, or why not."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    user = await _signed_in(request)
    if isinstance(user, JSONResponse):
        return user
    return _text(body, "code"), user


async def show(request: Request) -> Response:
    """`{"code": …}` → what the page shows of the request, while it can be answered."""
    asked = await _answering(request)
    if isinstance(asked, JSONResponse):
        return asked
    code, user = asked
    try:
        login = await cli_login.pending(code)
    except DomainError as error:
        return _refusal(error)
    return JSONResponse(
        {
            "host": login.host,
            "createdAt": login.created_at.isoformat(),
            "expiresAt": login.expires_at.isoformat(),
            "email": user.email,
        },
        headers=_NO_STORE,
    )


async def confirm(request: Request) -> Response:
    return await _decide(request, confirm=True)


async def refuse(request: Request) -> Response:
    return await _decide(request, confirm=False)


async def _decide(request: Request, *, confirm: bool) -> Response:
    asked = await _answering(request)
    if isinstance(asked, JSONResponse):
        return asked
    code, user = asked
    try:
        await cli_login.decide(code, user, confirm=confirm)
    except DomainError as error:
        return _refusal(error)
    return JSONResponse({"status": "confirmed" if confirm else "refused"}, headers=_NO_STORE)


def _refusal(error: DomainError) -> JSONResponse:
    status = 404 if error.code == ErrorCode.NOT_FOUND else 410
    return _error(status, error.code.name, error.message)
