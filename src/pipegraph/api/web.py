"""The browser side of the server: the dashboard (a single-page app), GraphiQL, and signing in and out.

Both pages are files built from `web/` (`make web`) and served from this process: nothing they load comes from
another host, and they hold no data. Every datum comes through the same GraphQL API any other client uses.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from pipegraph.accounts.sessions import SESSION_LIFETIME, end_session, exchange_login_token
from pipegraph.api.auth import JSON_ONLY, SESSION_COOKIE, graphql_error, is_json
from pipegraph.settings import Settings

# The pages run only what they were built with; connect-src 'self' covers the same-origin WebSocket too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _not_built(settings: Settings, page: str) -> Response:
    return HTMLResponse(
        f"<!doctype html><title>pipegraph</title><p>The {escape(page)} is not built in "
        f"<code>{escape(str(settings.web_dir))}</code>: run <code>make web</code> (Node.js and npm) and reload.</p>",
        status_code=503,
        headers=PAGE_HEADERS,
    )


def page(settings: Settings, name: str, title: str) -> Response:
    path = settings.web_dir / name
    if not path.is_file():
        return _not_built(settings, title)
    return FileResponse(path, media_type="text/html", headers=PAGE_HEADERS)


async def dashboard(request: Request) -> Response:
    """Every dashboard address serves the same page; the page routes itself (`/`, `/pipelines/…`, `/apps/…`)."""
    return page(request.app.state.settings, "index.html", "dashboard")


def assets(settings: Settings) -> StaticFiles:
    # Hashed file names: cached by browsers for as long as they like, replaced by the next build's names.
    return StaticFiles(directory=Path(settings.web_dir) / "assets", check_dir=False)


class GraphiQLPage:
    """GET /graphql from a browser is GraphiQL (PIPEGRAPH_GRAPHIQL), or a 404; everything else goes to the API."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in {"GET", "HEAD"}:
            accept = Headers(scope=scope).get("accept", "")
            if "text/html" in accept:
                if self.settings.graphiql:
                    response = page(self.settings, "graphiql.html", "GraphiQL page")
                else:
                    response = Response("Not Found", status_code=404, media_type="text/plain")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def login(request: Request) -> Response:
    """Spend a one-time link's token, set the session cookie, and redirect to the dashboard without the token.

    A GET, as the link is opened from a terminal; what it changes is the spending of a secret only its holder has,
    and the cookie is never what authorizes it.
    """
    settings: Settings = request.app.state.settings
    opened = await exchange_login_token(request.query_params.get("token", ""))
    if opened is None:
        return HTMLResponse(
            "<!doctype html><title>Sign-in link refused · pipegraph</title><main><h1>This sign-in link does not work"
            "</h1><p>It is unknown, was already used, or expired. Restart <code>pipegraph dev</code> for a fresh one."
            "</p></main>",
            status_code=400,
            headers=PAGE_HEADERS,
        )
    _, secret = opened
    response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or (settings.public_url or "").startswith("https://"),
    )
    return response


async def logout(request: Request) -> Response:
    """End the session server-side and drop the cookie. JSON-only, like every POST that acts on a cookie."""
    if not is_json(request.headers.get("content-type")):
        return graphql_error(JSON_ONLY, "UNSUPPORTED_MEDIA_TYPE", 415)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        await end_session(secret, redis_url=request.app.state.settings.redis_url)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
