"""The one place the GraphQL schema is assembled from each domain's queries and mutations."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from pipegraph.accounts.mutations import AccountMutations
from pipegraph.accounts.queries import AccountQueries
from pipegraph.api.context import ContextPerOperation, SubscriptionsOverWebSocketOnly
from pipegraph.api.cost import MaxQueryNodes
from pipegraph.api.error_codes import LabelClientErrors
from pipegraph.api.errors import MaskInternalErrors, should_mask_error
from pipegraph.api.event_batches import EventBatchesExecutionContext
from pipegraph.api.fast_path import FastPathSchema, RememberValidQueries
from pipegraph.api.limits import document_limits
from pipegraph.api.metrics import ObserveOperations
from pipegraph.api.text import TextArguments
from pipegraph.apps.mutations import AppCollaboratorMutations, AppMutations
from pipegraph.apps.queries import AppQueries
from pipegraph.builds.mutations import BuildMutations
from pipegraph.builds.queries import BuildQueries
from pipegraph.builds.subscriptions import BuildSubscriptions
from pipegraph.ci.mutations import CiMutations
from pipegraph.ci.subscriptions import CiSubscriptions
from pipegraph.core.relay import node_by_id
from pipegraph.github.mutations import GitHubMutations
from pipegraph.pipelines.events import PipelineSubscriptions
from pipegraph.pipelines.mutations import PipelineAccessMutations, PipelineMutations, PipelineOwnershipMutations
from pipegraph.pipelines.queries import PipelineQueries
from pipegraph.promotions.mutations import PromotionMutations
from pipegraph.promotions.subscriptions import PromotionSubscriptions
from pipegraph.releases.mutations import ReleaseMutations
from pipegraph.reviewapps.mutations import ReviewAppMutations
from pipegraph.settings import Settings
from pipegraph.slugs.mutations import SlugMutations
from pipegraph.teams.mutations import TeamMutations


class Queries(AccountQueries, AppQueries, PipelineQueries, BuildQueries):
    pass


def _query_type() -> type:
    # A fresh class per schema: strawberry binds the relay `node` field to one schema only.
    @strawberry.type(
        name="Query", description="Everything the viewer may read, from the viewer down to releases and slugs."
    )
    class Query(Queries):
        node: relay.Node | None = strawberry.field(
            resolver=node_by_id, description="Any object by its global ID; null when there is none."
        )

    return Query


@strawberry.type(
    description="Every change to pipegraph: each returns a payload with `userErrors`, empty when it worked."
)
class Mutation(
    AccountMutations,
    AppMutations,
    SlugMutations,
    ReleaseMutations,
    PipelineMutations,
    PromotionMutations,
    TeamMutations,
    # Listed in this order so the schema keeps its mutations' order.
    AppCollaboratorMutations,
    PipelineAccessMutations,
    ReviewAppMutations,
    PipelineOwnershipMutations,
    BuildMutations,
    GitHubMutations,
    CiMutations,
):
    pass


@strawberry.type(
    description="Live news over WebSocket (graphql-transport-ws or graphql-ws), authenticated in connection_init."
)
class Subscription(PromotionSubscriptions, PipelineSubscriptions, BuildSubscriptions, CiSubscriptions):
    pass


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the limits a public endpoint needs; `settings` None gives the defaults (for export)."""
    max_depth = settings.max_query_depth if settings else 12
    max_tokens = settings.max_query_tokens if settings else 2000
    max_nodes = settings.max_query_nodes if settings else 50000
    # The limits' rule class is made once per schema, not per request, so that a query text parsed and validated
    # once is found in the (bounded) caches: re-validating it on every request cost a third of a small read.
    # Fragments may save typing, not multiply work: once spread, a document selects no more fields than the token
    # limit lets it write out.
    limits = [document_limits(max_depth=max_depth, max_aliases=30, max_fields=max_tokens)]
    # Factories, so each request gets fresh extension state.
    # What handles a result's errors: on the whole path, and on the fast path (api/fast_path.py) when there are some.
    error_extensions: list[Callable[[], SchemaExtension]] = [
        LabelClientErrors,
        lambda: MaskInternalErrors(should_mask_error=should_mask_error, error_message="Internal server error"),
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        ObserveOperations,  # first: it times and counts everything the others do
        ContextPerOperation,
        SubscriptionsOverWebSocketOnly,
        TextArguments,
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        ParserCache,
        ValidationCache,
        lambda: MaxQueryNodes(max_nodes),  # after ValidationCache: it counts validated documents only
        *error_extensions,
    ]
    if settings is not None and not settings.introspection:
        extensions.append(DisableIntrospection)
    # Last: a query is remembered for the fast path once every rule above passed it.
    extensions.append(RememberValidQueries)
    return FastPathSchema(
        query=_query_type(),
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=EventBatchesExecutionContext,
        config=StrawberryConfig(auto_camel_case=True),
        max_nodes=max_nodes,
        error_extensions=error_extensions,
    )


schema = build_schema()
