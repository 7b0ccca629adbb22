from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from pipegraph.accounts.loaders import user_by_id
from pipegraph.accounts.types import UserType
from pipegraph.api.context import Info
from pipegraph.api.nodes import resolve_visible
from pipegraph.apps.loaders import app_by_id
from pipegraph.apps.types import AppType, seen_through_their_app, sees_apps
from pipegraph.core.enums import describe_values
from pipegraph.pipelines.loaders import pipeline_by_id
from pipegraph.promotions.loaders import promotion_by_id, promotion_target_by_id, targets_by_promotion
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus, TargetStep
from pipegraph.releases.loaders import release_by_id
from pipegraph.releases.types import ReleaseType
from pipegraph.streams.promotion import TargetState

if TYPE_CHECKING:
    from pipegraph.pipelines.types import PipelineType

PromotionStatusEnum = strawberry.enum(
    PromotionStatus, name="PromotionStatus", description="Whether a promotion is still being carried out."
)
TargetStatusEnum = strawberry.enum(
    TargetStatus, name="PromotionTargetStatus", description="How a promotion target stands."
)
TargetStepEnum = strawberry.enum(
    TargetStep, name="PromotionStep", description="Where a target is: QUEUED, then each step in order, then DONE."
)


async def _app(info: Info, app_id: int) -> AppType:
    app = await info.context.loaders[app_by_id].load(app_id)
    assert app is not None  # a foreign key with ON DELETE CASCADE
    return AppType.from_model(app)


async def _release(info: Info, release_id: int | None) -> ReleaseType | None:
    if release_id is None:
        return None
    release = await info.context.loaders[release_by_id].load(release_id)
    return ReleaseType.from_model(release) if release else None


async def sees_promotion(info: Info, promotion: Promotion) -> bool:
    """A promotion shows to whoever sees its pipeline."""
    from pipegraph.pipelines.types import sees_pipeline

    pipeline = await info.context.loaders[pipeline_by_id].load(promotion.pipeline_id)
    return pipeline is not None and await sees_pipeline(info, pipeline)


async def _seen_promotions(info: Info, promotions: list[Promotion]) -> list[int]:
    return [promotion.id for promotion in promotions if await sees_promotion(info, promotion)]


@strawberry.type(name="PromotionTarget", description="One app a promotion goes to, and how far it got.")
class PromotionTargetType(relay.Node):
    id: relay.NodeID[int]
    status: TargetStatus = strawberry.field(description="PENDING, RUNNING, then SUCCEEDED or FAILED.")
    step: TargetStep = strawberry.field(description="How far the target got.")
    error_message: str | None = strawberry.field(description="Why this target failed, when it did.")
    updated_at: datetime | None = strawberry.field(description="When the target last changed.")
    # Or, for a subscriber, the target as its latest stream event says it is.
    model: strawberry.Private[PromotionTarget | TargetState]

    @classmethod
    def from_model(cls, target: PromotionTarget | TargetState) -> PromotionTargetType:
        return cls(
            id=target.id,
            status=target.status,
            step=target.step,
            error_message=target.error_message,
            updated_at=getattr(target, "updated_at", None),
            model=target,
        )

    resolve_nodes = resolve_visible(promotion_target_by_id, seen_through_their_app)

    @strawberry.field(description="The app the slug is promoted to.")
    async def app(self, info: Info) -> AppType:
        return await _app(info, self.model.app_id)

    @strawberry.field(description="The release made on the target app, once there is one.")
    async def release(self, info: Info) -> ReleaseType | None:
        return await _release(info, self.model.release_id)


@strawberry.type(name="Promotion", description="A release copied downstream, target by target.")
class PromotionType(relay.Node):
    id: relay.NodeID[int]
    status: PromotionStatus = strawberry.field(
        description="PENDING until every target succeeded or failed, then COMPLETED."
    )
    created_at: datetime = strawberry.field(description="When the promotion was asked for.")
    completed_at: datetime | None = strawberry.field(description="When its last target finished; null while PENDING.")
    model: strawberry.Private[Promotion]

    @classmethod
    def from_model(cls, promotion: Promotion) -> PromotionType:
        return cls(
            id=promotion.id,
            status=promotion.status,
            created_at=promotion.created_at,
            completed_at=promotion.completed_at,
            model=promotion,
        )

    resolve_nodes = resolve_visible(promotion_by_id, _seen_promotions)

    @strawberry.field(description="The app promoted from; null if the viewer cannot see it.")
    async def source(self, info: Info) -> AppType | None:
        if self.model.source_app_id not in await sees_apps(info, [self.model.source_app_id]):
            return None
        return await _app(info, self.model.source_app_id)

    @strawberry.field(
        description="The release promoted: the source's current one, or the one asked for; "
        "null if the viewer cannot see the source."
    )
    async def source_release(self, info: Info) -> ReleaseType | None:
        if self.model.source_app_id not in await sees_apps(info, [self.model.source_app_id]):
            return None
        return await _release(info, self.model.source_release_id)

    @strawberry.field(description="The pipeline the promotion happens in.")
    async def pipeline(self, info: Info) -> Annotated[PipelineType, strawberry.lazy("pipegraph.pipelines.types")]:
        from pipegraph.pipelines.types import PipelineType

        pipeline = await info.context.loaders[pipeline_by_id].load(self.model.pipeline_id)
        assert pipeline is not None
        return PipelineType.from_model(pipeline)

    @strawberry.field(description="Who asked for the promotion; null once that user is gone.")
    async def created_by(self, info: Info) -> UserType | None:
        if self.model.created_by_id is None:
            return None
        user = await info.context.loaders[user_by_id].load(self.model.created_by_id)
        return UserType.from_model(user) if user else None

    @strawberry.field(description="Every target whose app the viewer sees, by app id.")
    async def targets(self, info: Info) -> list[PromotionTargetType]:
        targets = await info.context.loaders[targets_by_promotion].load(self.id)
        seen = await sees_apps(info, [target.app_id for target in targets])
        return [PromotionTargetType.from_model(target) for target in targets if target.app_id in seen]


@strawberry.type(
    name="PromotionProgress", description="A target's state: first each one's current state, then each change."
)
class PromotionProgressType:
    target: PromotionTargetType = strawberry.field(description="The target this news is about.")
    status: TargetStatus = strawberry.field(description="The target's status now.")
    step: TargetStep = strawberry.field(description="The target's step now.")
    error_message: str | None = strawberry.field(description="Why the target failed, when it did.")
    sequence: int = strawberry.field(description="Grows with each change of this target.")
    # Everything a selection can read of this event: subscribers with the same selection and rights share one
    # execution of it (api/event_results.py).
    shared_as: strawberry.Private[tuple[object, ...] | None] = None

    @classmethod
    def from_model(cls, target: PromotionTarget | TargetState) -> PromotionProgressType:
        return cls(
            target=PromotionTargetType.from_model(target),
            status=target.status,
            step=target.step,
            error_message=target.error_message,
            sequence=target.sequence,
            shared_as=(
                "PromotionProgress",
                target.promotion_id,
                target.id,
                target.app_id,
                target.sequence,
                target.status,
                target.step,
                target.error_message,
                target.release_id,
                target.updated_at,
            ),
        )

    @strawberry.field(description="The release made on the target app, once there is one.")
    async def release(self, info: Info) -> ReleaseType | None:
        return await _release(info, self.target.model.release_id)


# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    PromotionStatus,
    {
        PromotionStatus.PENDING: "Some target has not finished yet.",
        PromotionStatus.COMPLETED: "Every target succeeded or failed.",
    },
)
describe_values(
    TargetStatus,
    {
        TargetStatus.PENDING: "Not started.",
        TargetStatus.RUNNING: "A worker is on it.",
        TargetStatus.SUCCEEDED: "The target runs the promoted slug.",
        TargetStatus.FAILED: "The target keeps its old release; errorMessage says why.",
    },
)
describe_values(
    TargetStep,
    {
        TargetStep.QUEUED: "Waiting for a worker.",
        TargetStep.COPYING_SLUG: "Sharing the slug's verified blob with the target.",
        TargetStep.UPDATING_STACK: "Moving the target to the slug's stack.",
        TargetStep.RELEASE_PHASE: "Running the slug's release command with the target's config.",
        TargetStep.DONE: "Finished, succeeded or failed.",
    },
)
