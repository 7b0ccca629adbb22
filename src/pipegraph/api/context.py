"""The per-operation context: the viewer, their rights, settings, and DataLoaders (each domain declares its own)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from pipegraph.access.policy import Access
from pipegraph.access.rights import Rights
from pipegraph.accounts.models import User
from pipegraph.api.live_access import LiveAccess
from pipegraph.core.loaders import Loaders
from pipegraph.jobs.queue import Job, JobQueue
from pipegraph.settings import Settings
from pipegraph.slugs.store import SlugStore
from pipegraph.streams.hub import StreamHub

if TYPE_CHECKING:
    from pipegraph.api.speculation import Prefetched


@dataclass
class Context:
    # Over a WebSocket the viewer is known only once `connection_init` is checked (PipegraphGraphQL.on_ws_connect);
    # no operation runs before that, and subscriptions check it again.
    viewer: User
    settings: Settings
    slug_store: SlugStore
    request: Any = None
    response: Any = None
    loaders: Loaders = field(default_factory=Loaders)
    # Jobs are enqueued here, after the mutation's transaction committed.
    jobs: JobQueue | None = None
    # Subscriptions follow Redis Streams through it: one reader per stream for the whole process.
    streams: StreamHub | None = None
    # The token the viewer authenticated with: an open WebSocket checks it again on each message (api/websocket.py).
    token_id: int | None = None
    # Or the dashboard's browser session, checked again the same way.
    session_id: int | None = None
    # The graphql-core executor running this operation (a weak reference): the compiled reads plan with its fragments
    # and variables.
    execution: Any = None
    # The viewer's rights as the request's credential was read (HTTP only): what a query's `access` starts from.
    preloaded_rights: Rights | None = None
    # Over a WebSocket: the process's revocations and rights, kept current through Redis (api/live_access.py).
    live_access: LiveAccess | None = None
    # Reads started while the request's credential was checked, for the request's own reads to take (HTTP only).
    prefetched: Prefetched | None = None
    # Set by the WebSocket handlers (api/websocket.py), which send a batch of planned subscription events as one
    # message per event (api/event_batches.py).
    event_batches: bool = False
    _access: Access | None = field(default=None, init=False, repr=False)

    @property
    def access(self) -> Access:
        """The viewer's rights; built on first use, since a WebSocket learns its viewer after the context exists."""
        if self._access is None or self._access.viewer is not self.viewer:
            shared = self.live_access.rights_of if self.live_access is not None else None
            self._access = Access(self.viewer, shared=shared)
        return self._access

    # Set by strawberry from the WebSocket `connection_init` payload.
    connection_params: Any = None

    async def enqueue(self, jobs: list[Job]) -> None:
        if self.jobs is not None:
            await self.jobs.enqueue(jobs)

    def for_operation(self) -> Context:
        """A copy for one operation: its own loaders and rights, so nothing is cached across a socket's operations."""
        return replace(self, loaders=Loaders())

    def use_preloaded_rights(self) -> None:
        """For a query: answer with the rights read along with the request's credential, when they were."""
        if self.preloaded_rights is not None:
            self._access = Access(self.viewer, rights=self.preloaded_rights)

    def refresh(self) -> None:
        """Forget what this operation loaded and the viewer's rights: a subscription calls it before each batch of
        events."""
        self.loaders = Loaders()
        self._access = None

    def refresh_rights(self) -> None:
        """Forget the viewer's rights only: a subscription calls it before each event. Over a WebSocket that hears
        access notices they come from memory (api/live_access.py), so a collaborator removed mid-batch sees no more
        of it without a statement per event."""
        self._access = None


# What resolvers are given: `async def field(self, info: Info) -> …`.
Info = strawberry.Info[Context, None]


class ContextPerOperation(SchemaExtension):
    """Gives every operation a fresh context. Over HTTP a request is one operation anyway; over a WebSocket strawberry
    hands every operation the one context of the connection, whose loaders and rights would otherwise last (and go
    stale) for the socket's whole life."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            self.execution_context.context = context.for_operation()
        yield

    def on_execute(self) -> Iterator[None]:
        # A query answers with the rights read along with the request's credential, a statement saved; a mutation
        # reads its own, since it may change them (access/preload.py).
        context = self.execution_context.context
        if isinstance(context, Context) and self.execution_context.operation_type == OperationType.QUERY:
            context.use_preloaded_rights()
        yield


SUBSCRIPTIONS_OVER_HTTP = (
    "subscriptions run over a WebSocket only (graphql-transport-ws or graphql-ws), where the token and the viewer's "
    "rights are checked again before every event"
)


class SubscriptionsOverWebSocketOnly(SchemaExtension):
    """strawberry lets a POST carry a subscription: without a streaming protocol it fails inside, and with one it would
    stream with no check after the first event. Refused plainly instead, before anything runs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        http = isinstance(context, Context) and isinstance(context.request, Request)
        if http and self.execution_context.operation_type == OperationType.SUBSCRIPTION:
            self.execution_context.result = ExecutionResult(data=None, errors=[GraphQLError(SUBSCRIPTIONS_OVER_HTTP)])
        yield
