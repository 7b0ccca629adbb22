"""The ASGI application: GraphQL (HTTP and WebSocket), the slug upload endpoint, and a health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from pipegraph.api.auth import RequireToken, token_for
from pipegraph.api.context import Context
from pipegraph.api.websocket import LegacyWSHandler, TransportWSHandler
from pipegraph.db import close_db, init_db
from pipegraph.jobs.queue import JobQueue
from pipegraph.schema import build_schema
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore, SlugStore
from pipegraph.slugs.upload import put_slug_blob
from pipegraph.sources.git_http import git_http
from pipegraph.sources.push import PUSH_PATH, receive_push
from pipegraph.sources.upload import put_source_blob
from pipegraph.streams.hub import StreamHub


class PipegraphGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, settings: Settings, slug_store: SlugStore, jobs: JobQueue, streams: StreamHub | None) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,  # no mutation (or query) over GET: nothing for a forged link to trigger
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.settings = settings
        self.slug_store = slug_store
        self.jobs = jobs
        self.streams = streams

    async def get_context(self, request: Any, response: Any) -> Context:
        # RequireToken put the viewer there for every POST; a GET only renders GraphiQL and executes nothing.
        state = request.scope.get("state", {})
        settings = self.settings
        if not settings.public_url:
            settings = replace(settings, public_url=origin_of(request))
        return Context(
            viewer=state.get("viewer"),
            token_id=state.get("token_id"),
            settings=settings,
            slug_store=self.slug_store,
            request=request,
            response=response,
            jobs=self.jobs,
            streams=self.streams,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | None | dict[str, object]:
        """A WebSocket authenticates in `connection_init`: browsers cannot set headers on one."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        if not authorization and params.get("token"):
            authorization = f"Bearer {params['token']}"
        result = await token_for(str(authorization) if authorization else None)
        if isinstance(result, str):
            raise ConnectionRejectionError({"message": result, "code": "UNAUTHENTICATED"})
        context.viewer = result.user
        context.token_id = result.id
        return None  # acknowledge with no payload


def origin_of(connection: HTTPConnection) -> str:
    """The scheme, host and root path the client reached this server by, as web frameworks build absolute URLs:
    the Host header, and X-Forwarded-Proto behind a trusted proxy (`proxy_headers`). A forged Host only misleads the
    client that sent it: the URL goes back to that client alone."""
    url = connection.base_url
    scheme = {"ws": "http", "wss": "https"}.get(url.scheme, url.scheme)
    return str(url.replace(scheme=scheme)).rstrip("/")


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app(settings: Settings, *, manage_db: bool = True) -> Starlette:
    """`manage_db=False` when the caller already opened the database (tests, `pipegraph dev`)."""
    slug_store = LocalSlugStore(settings.slug_dir)
    jobs = JobQueue(settings.redis_url)
    streams = StreamHub(settings.redis_url) if settings.redis_url else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await init_db(settings.database_url)
        await jobs.open()
        try:
            yield
        finally:
            await jobs.close()
            if streams is not None:
                await streams.close()
            if manage_db:
                await close_db()

    graphql = RequireToken(PipegraphGraphQL(settings, slug_store, jobs, streams))
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/slugs/{slug_id}/blob", put_slug_blob, methods=["PUT"]),
            Route("/sources/{source_id}/blob", put_source_blob, methods=["PUT"]),
            Route("/git/{repo}/{path:path}", git_http, methods=["GET", "POST"]),
            Route(PUSH_PATH, receive_push, methods=["POST"]),
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.slug_store = slug_store
    app.state.jobs = jobs
    app.state.streams = streams
    return app
