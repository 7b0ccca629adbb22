"""The ASGI application: GraphQL (HTTP and WebSocket), the slug upload endpoint, the dashboard and GraphiQL pages,
signing in and out, and a health check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from pipegraph.api import cli_login, speculation, web
from pipegraph.api.auth import RequireToken, credential_for
from pipegraph.api.body import BodyLimit, StrictJSONBody
from pipegraph.api.context import Context
from pipegraph.api.fast_path import FastPathSchema
from pipegraph.api.health import operator_routes
from pipegraph.api.json_output import OrjsonResponses, TextFrameWebSocket
from pipegraph.api.live_access import LiveAccess
from pipegraph.api.rate_limits import AddressLimits
from pipegraph.api.web import GraphiQLPage
from pipegraph.api.websocket import LegacyWSHandler, TransportWSHandler
from pipegraph.db import close_db, init_db
from pipegraph.gctune import collect_young_regularly
from pipegraph.github.service import WEBHOOK_PATH
from pipegraph.github.webhooks import receive_webhook
from pipegraph.jobs.queue import JobQueue
from pipegraph.logs import RequestIds
from pipegraph.schema import build_schema
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore, SlugStore
from pipegraph.slugs.upload import put_slug_blob
from pipegraph.sources.git_http import git_http
from pipegraph.sources.push import PUSH_PATH, receive_push
from pipegraph.sources.upload import put_source_blob
from pipegraph.streams.hub import StreamHub

# Origins whose settings are kept (api/app.py PipegraphGraphQL._settings_for): a server is reached by a handful.
MAX_ORIGINS = 64


class PipegraphGraphQL(OrjsonResponses, StrictJSONBody, GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = TextFrameWebSocket

    def __init__(
        self,
        settings: Settings,
        slug_store: SlugStore,
        jobs: JobQueue,
        streams: StreamHub | None,
        live_access: LiveAccess | None = None,
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide=None,  # GraphiQL is our own build (api/web.py), never strawberry's CDN-loaded page
            allow_queries_via_get=False,  # no mutation (or query) over GET: nothing for a forged link to trigger
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.settings = settings
        self.slug_store = slug_store
        self.jobs = jobs
        self.streams = streams
        self.live_access = live_access
        self._origin_settings: dict[str, Settings] = {}

    async def get_context(self, request: Any, response: Any) -> Context:
        # RequireToken put the viewer there for every POST; a GET only renders GraphiQL and executes nothing.
        state = request.scope.get("state", {})
        settings = self.settings if self.settings.public_url else self._settings_for(origin_of(request))
        return Context(
            viewer=state.get("viewer"),
            token_id=state.get("token_id"),
            session_id=state.get("session_id"),
            preloaded_rights=state.get("rights"),
            prefetched=state.get("prefetched"),
            settings=settings,
            slug_store=self.slug_store,
            request=request,
            response=response,
            jobs=self.jobs,
            streams=self.streams,
            live_access=self.live_access if isinstance(request, WebSocket) else None,
        )

    def _settings_for(self, origin: str) -> Settings:
        """The settings with `public_url` the origin a request came by, made once per origin rather than per request.

        The Host header is the client's to choose: the copies kept are bounded, and forgotten when there are too many.
        """
        settings = self._origin_settings.get(origin)
        if settings is None:
            if len(self._origin_settings) >= MAX_ORIGINS:
                self._origin_settings.clear()
            settings = self._origin_settings[origin] = replace(self.settings, public_url=origin)
        return settings

    async def on_ws_connect(self, context: Context) -> UnsetType | None | dict[str, object]:
        """A WebSocket authenticates in `connection_init` (browsers cannot set headers on one), or, for the dashboard,
        with its session cookie, sent with the upgrade request.

        A browser sends cookies on a WebSocket to our host whatever page opened it: no preflight, no SameSite help for
        a same-site page. So a cookie counts only when the socket's Origin is this host (cross-site WebSocket
        hijacking); a token in `connection_init` needs no such check, since no other site knows it.
        """
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        if not authorization and params.get("token"):
            authorization = f"Bearer {params['token']}"
        headers = Headers(raw=[(k, v) for k, v in context.request.scope.get("headers", []) if k != b"authorization"])
        if authorization:
            headers = Headers(raw=[*headers.raw, (b"authorization", str(authorization).encode("latin-1"))])
        result = await credential_for(headers)
        if isinstance(result, str):
            raise ConnectionRejectionError({"message": result, "code": "UNAUTHENTICATED"})
        context.viewer = result.user
        context.token_id = result.token_id
        context.session_id = result.session_id
        return None  # acknowledge with no payload


def origin_of(connection: HTTPConnection) -> str:
    """The scheme, host and root path the client reached this server by, as web frameworks build absolute URLs:
    the Host header, and X-Forwarded-Proto behind a trusted proxy (`proxy_headers`). A forged Host only misleads the
    client that sent it: the URL goes back to that client alone."""
    url = connection.base_url
    scheme = {"ws": "http", "wss": "https"}.get(url.scheme, url.scheme)
    return str(url.replace(scheme=scheme)).rstrip("/")


def create_app(settings: Settings, *, manage_db: bool = True) -> Starlette:
    """`manage_db=False` when the caller already opened the database (tests, `pipegraph dev`)."""
    slug_store = LocalSlugStore(settings.slug_dir)
    jobs = JobQueue(settings.redis_url)
    streams = StreamHub(settings.redis_url) if settings.redis_url else None
    live_access = LiveAccess(settings.redis_url) if settings.redis_url else None
    cli_login_limits = AddressLimits(settings.redis_url, settings.cli_login_rate, name="cli-login")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await init_db(settings.database_url, pool_size=settings.db_pool_size)
        await jobs.open()
        await cli_login_limits.open()
        if live_access is not None:
            live_access.start()
        collector = asyncio.create_task(collect_young_regularly(), name="collect-young-garbage")
        try:
            yield
        finally:
            collector.cancel()
            if live_access is not None:
                await live_access.close()
            await jobs.close()
            await cli_login_limits.close()
            if streams is not None:
                await streams.close()
            if manage_db:
                await close_db()

    view = PipegraphGraphQL(settings, slug_store, jobs, streams, live_access)
    # A known dashboard query's data statement is read by the statement that checks the credential
    # (api/speculation.py), joined LATERAL behind its row on PostgreSQL (SQLite has no LATERAL: it reads it next), and
    # answered without the view when the rows hold the whole answer.
    schema = view.schema
    speculate = (
        partial(speculation.speculate, schema)
        if settings.compiled_reads and isinstance(schema, FastPathSchema) and schema.fast_path_enabled
        else None
    )
    graphql = GraphiQLPage(RequireToken(view, speculate), settings)
    app = Starlette(
        routes=[
            # First: what nearly every request asks for is matched without trying the others' patterns (no other
            # route's path can be /graphql, so the order changes nothing else).
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            *operator_routes(settings),
            Route("/slugs/{slug_id}/blob", put_slug_blob, methods=["PUT"]),
            Route("/sources/{source_id}/blob", put_source_blob, methods=["PUT"]),
            Route("/git/{repo}/{path:path}", git_http, methods=["GET", "POST"]),
            Route(PUSH_PATH, receive_push, methods=["POST"]),
            Route(WEBHOOK_PATH, receive_webhook, methods=["POST"]),
            Route("/login", web.login, methods=["GET"]),
            Route("/logout", web.logout, methods=["POST"]),
            Route(cli_login.START_PATH, cli_login.start, methods=["POST"]),
            Route(cli_login.TOKEN_PATH, cli_login.collect, methods=["POST"]),
            Route(f"{cli_login.START_PATH}/show", cli_login.show, methods=["POST"]),
            Route(f"{cli_login.START_PATH}/confirm", cli_login.confirm, methods=["POST"]),
            Route(f"{cli_login.START_PATH}/refuse", cli_login.refuse, methods=["POST"]),
            Route(cli_login.PAGE_PATH + "/{code}", web.dashboard, methods=["GET"]),
            Mount("/assets", app=web.assets(settings)),
            Route("/", web.dashboard, methods=["GET"]),
            Route("/pipelines/{rest:path}", web.dashboard, methods=["GET"]),
            Route("/apps/{rest:path}", web.dashboard, methods=["GET"]),
        ],
        middleware=[
            Middleware(RequestIds),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes, own_limit_prefixes=("/slugs/",)),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.slug_store = slug_store
    app.state.jobs = jobs
    app.state.streams = streams
    app.state.live_access = live_access
    app.state.cli_login_limits = cli_login_limits
    app.state.schema = view.schema  # what operators and tests may inspect: its fast path's known documents
    return app
