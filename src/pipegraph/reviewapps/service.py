"""Review and CI apps (ephemeral apps): created under the pipeline owner, with the pipeline's access as it is now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from tortoise.transactions import in_transaction

from pipegraph.access.policy import Access
from pipegraph.access.rules import EphemeralAction, Permission, PipelineRight, ephemeral_allows, stored_permissions
from pipegraph.accounts.models import User
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.apps.service import create_app
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.pipelines.access_tab import auto_join_permissions, owning_team, pipeline_permissions
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, PipelineCoupling, Stage
from pipegraph.pipelines.stage_config import cancel_deletion
from pipegraph.streams.notices import AccessNotice, announce
from pipegraph.teams.models import TeamMembership, TeamRole


class EphemeralKind(StrEnum):
    REVIEW = "review"
    CI = "ci"


_KIND_STAGE = {EphemeralKind.REVIEW: Stage.REVIEW, EphemeralKind.CI: Stage.TEST}
_KIND_ACTION = {
    EphemeralKind.REVIEW: EphemeralAction.CREATE_REVIEW_APPS,
    EphemeralKind.CI: EphemeralAction.CREATE_CI_APPS,
}


async def require_create_ephemeral(access: Access, pipeline: Pipeline, kind: EphemeralKind) -> None:
    """Pipeline admins and members may; anyone else needs pipeline access allowing it (the seed's table)."""
    await require_ephemeral_action(access, pipeline, _KIND_ACTION[kind], operation="createEphemeralApp")


async def require_ephemeral_action(
    access: Access, pipeline: Pipeline, action: EphemeralAction, *, operation: str
) -> None:
    """Pipeline admins and members may do `action` on the pipeline's review and CI apps; anyone else needs pipeline
    access allowing it (the seed's table). One who does not even see the pipeline is told it does not exist."""
    await access.require(operation, pipeline=pipeline)
    rights = await access.pipeline_rights(pipeline, await access.pipeline_apps(pipeline))
    if PipelineRight.MEMBER in rights:
        return
    permissions = await pipeline_permissions(pipeline, access.viewer)
    if not permissions and PipelineRight.VIEW not in rights:
        raise NotFound("pipeline", pipeline.name, field="pipeline")
    if not ephemeral_allows(permissions, action):
        raise DomainError(
            ErrorCode.NO_PIPELINE_ACCESS,
            f"{operation} in pipeline {pipeline.name} needs pipeline access allowing {action.value}",
            field="pipeline",
        )


async def left_behind(
    pipeline_id: int, name: str, kind: EphemeralKind, *, held: Callable[[int], Awaitable[bool]]
) -> App | None:
    """The ephemeral app a job made under `name` in the pipeline's stage for `kind` and died before recording (on its
    review app or test run): one that nothing `held` says is in use. The next job takes it on, instead of failing on
    its name, taken, or leaving it behind for ever."""
    app = await App.get_or_none(name=name, ephemeral=True)
    if app is None or await held(app.id):
        return None
    in_stage = await PipelineCoupling.exists(app_id=app.id, pipeline_id=pipeline_id, stage=_KIND_STAGE[kind])
    return app if in_stage else None


async def create_ephemeral_app(
    pipeline: Pipeline, *, name: str, kind: EphemeralKind, default_stack: str, redis_url: str | None = None
) -> App:
    """A review or CI app under the pipeline owner, with the pipeline's access as it is now, stored on the app; the
    users it grants something hear of it on their open WebSockets (through `redis_url`) before this returns."""
    team = await owning_team(pipeline)
    owner = await User.get(id=pipeline.owner_id)
    given: dict[int, set[Permission]] = {}
    joining = await auto_join_permissions(pipeline, team)
    if team is not None and joining:
        members = await TeamMembership.filter(team_id=team.id, role=TeamRole.MEMBER)
        for membership in members:
            given.setdefault(membership.user_id, set()).update(joining)
    for grant_row in await PipelineAccessGrant.filter(pipeline_id=pipeline.id):
        given.setdefault(grant_row.user_id, set()).update(Permission(p) for p in grant_row.permissions)
    async with in_transaction():
        app = await create_app(owner=owner, team=team, name=name, stack=None, default_stack=default_stack)
        app.ephemeral = True
        await app.save(update_fields=["ephemeral", "updated_at"])
        await PipelineCoupling.create(pipeline=pipeline, app=app, stage=_KIND_STAGE[kind])
        await AppCollaborator.bulk_create(
            [
                AppCollaborator(app_id=app.id, user_id=user_id, permissions=stored_permissions(permissions))
                for user_id, permissions in given.items()
            ]
        )
    await cancel_deletion(pipeline.id)
    if given:
        await announce(redis_url, AccessNotice(users=frozenset(given)))
    return app
