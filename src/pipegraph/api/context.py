"""The per-request context: the viewer, settings, and fresh DataLoaders (never module-level: they cache forever)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import ExecutionResult, GraphQLError
from starlette.requests import Request
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from pipegraph.access.models import AppCollaborator, PipelineAccessGrant, PipelineTransfer
from pipegraph.access.policy import Access
from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.loaders import many_by, one_by
from pipegraph.jobqueue import Job, JobQueue
from pipegraph.pipelines.models import Pipeline, PipelineCoupling
from pipegraph.promotions.loaders import promotion_by_id, target_by_id, targets_by_promotion
from pipegraph.promotions.models import Promotion, PromotionTarget
from pipegraph.releases.loaders import ReleasePageKey, current_release_by_app, release_pages
from pipegraph.releases.models import Release
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import SlugStore
from pipegraph.stream_hub import StreamHub
from pipegraph.teams.models import Team


@dataclass
class Loaders:
    user_by_id: DataLoader[int, User | None] = field(default_factory=lambda: one_by(User))
    app_by_id: DataLoader[int, App | None] = field(default_factory=lambda: one_by(App))
    app_by_name: DataLoader[str, App | None] = field(default_factory=lambda: one_by(App, "name"))
    slug_by_id: DataLoader[int, Slug | None] = field(default_factory=lambda: one_by(Slug))
    release_by_id: DataLoader[int, Release | None] = field(default_factory=lambda: one_by(Release))
    current_release_by_app: DataLoader[int, Release | None] = field(default_factory=current_release_by_app)
    release_pages: DataLoader[ReleasePageKey, list[Release]] = field(default_factory=release_pages)
    pipeline_by_id: DataLoader[int, Pipeline | None] = field(default_factory=lambda: one_by(Pipeline))
    pipeline_by_name: DataLoader[str, Pipeline | None] = field(default_factory=lambda: one_by(Pipeline, "name"))
    team_by_id: DataLoader[int, Team | None] = field(default_factory=lambda: one_by(Team))
    coupling_by_app: DataLoader[int, PipelineCoupling | None] = field(
        default_factory=lambda: one_by(PipelineCoupling, "app_id")
    )
    couplings_by_pipeline: DataLoader[int, list[PipelineCoupling]] = field(
        default_factory=lambda: many_by(PipelineCoupling, "pipeline_id", related=("app",))
    )
    # Lists on the access tab and ownership fields: one statement for all the apps or pipelines of a response.
    collaborators_by_app: DataLoader[int, list[AppCollaborator]] = field(
        default_factory=lambda: many_by(AppCollaborator, "app_id", related=("user",))
    )
    grants_by_pipeline: DataLoader[int, list[PipelineAccessGrant]] = field(
        default_factory=lambda: many_by(PipelineAccessGrant, "pipeline_id", related=("user",))
    )
    transfers_by_pipeline: DataLoader[int, list[PipelineTransfer]] = field(
        default_factory=lambda: many_by(PipelineTransfer, "pipeline_id", order_by=("-created_at", "-id"))
    )
    promotion_by_id: DataLoader[int, Promotion | None] = field(default_factory=promotion_by_id)
    promotion_target_by_id: DataLoader[int, PromotionTarget | None] = field(default_factory=target_by_id)
    targets_by_promotion: DataLoader[int, list[PromotionTarget]] = field(default_factory=targets_by_promotion)


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
    _access: Access | None = field(default=None, init=False, repr=False)

    @property
    def access(self) -> Access:
        """The viewer's rights; built on first use, since a WebSocket learns its viewer after the context exists."""
        if self._access is None or self._access.viewer is not self.viewer:
            self._access = Access(self.viewer)
        return self._access

    # Set by strawberry from the WebSocket `connection_init` payload.
    connection_params: Any = None

    async def enqueue(self, jobs: list[Job]) -> None:
        if self.jobs is not None:
            await self.jobs.enqueue(jobs)

    def for_operation(self) -> Context:
        """A copy for one operation: its own loaders and rights, so nothing is cached across a socket's operations."""
        return replace(self, loaders=Loaders())

    def refresh(self) -> None:
        """Forget what this operation loaded and the viewer's rights: a subscription calls it before each event."""
        self.loaders = Loaders()
        self._access = None


class ContextPerOperation(SchemaExtension):
    """Gives every operation a fresh context. Over HTTP a request is one operation anyway; over a WebSocket strawberry
    hands every operation the one context of the connection, whose loaders and rights would otherwise last (and go
    stale) for the socket's whole life."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            self.execution_context.context = context.for_operation()
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
