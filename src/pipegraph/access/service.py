"""App collaborators and the pipeline access tab: grants, auto-join, and the ephemeral apps they apply to.

Access changes apply to ephemeral apps created afterwards only: each review or CI app stores, as collaborator rows,
the permissions it was created with (auto-join for team members, plus manual grants).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pipegraph.access.models import AppCollaborator, Permission, PipelineAccessGrant
from pipegraph.access.policy import Access
from pipegraph.access.rules import EphemeralAction, PipelineRight, ephemeral_allows
from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.apps.service import create_app
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage, default_auto_join_permissions
from pipegraph.teams.models import Team, TeamKind, TeamMembership, TeamRole

# What auto-join gives members of a Heroku Team (not Enterprise): fixed, whatever the pipeline says.
STATIC_AUTO_JOIN = frozenset(Permission(p) for p in default_auto_join_permissions())


class EphemeralKind(StrEnum):
    REVIEW = "review"
    CI = "ci"


_KIND_STAGE = {EphemeralKind.REVIEW: Stage.REVIEW, EphemeralKind.CI: Stage.TEST}
_KIND_ACTION = {
    EphemeralKind.REVIEW: EphemeralAction.CREATE_REVIEW_APPS,
    EphemeralKind.CI: EphemeralAction.CREATE_CI_APPS,
}


def _stored(permissions: Iterable[Permission]) -> list[str]:
    """Permissions as stored: deduplicated, in Heroku's order."""
    chosen = set(permissions)
    return [permission.value for permission in Permission if permission in chosen]


def _required(permissions: Iterable[Permission], *, field: str = "permissions") -> list[str]:
    stored = _stored(permissions)
    if not stored:
        raise DomainError(
            ErrorCode.INVALID, "give at least one permission (VIEW, DEPLOY, OPERATE or MANAGE)", field=field
        )
    return stored


# App collaborators ----------------------------------------------------------------------------------------------


async def set_collaborator(app: App, user: User, permissions: Iterable[Permission]) -> AppCollaborator:
    """Add the user to the app, or replace their permissions when they already are on it."""
    stored = _required(permissions)
    async with in_transaction():
        collaborator = await AppCollaborator.select_for_update().get_or_none(app_id=app.id, user_id=user.id)
        if collaborator is None:
            try:
                return await AppCollaborator.create(app=app, user=user, permissions=stored)
            except IntegrityError:
                raise DomainError(
                    ErrorCode.INVALID, f"{user.email} was just added to {app.name}", field="user"
                ) from None
        collaborator.permissions = stored
        await collaborator.save(update_fields=["permissions"])
    return collaborator


async def remove_collaborator(app: App, user: User) -> None:
    deleted = await AppCollaborator.filter(app_id=app.id, user_id=user.id).delete()
    if not deleted:
        raise NotFound("collaborator", user.email, field="user")


# The pipeline access tab -----------------------------------------------------------------------------------------


async def _owning_team(pipeline: Pipeline) -> Team | None:
    return await Team.get(id=pipeline.team_id) if pipeline.team_id is not None else None


async def grant(pipeline: Pipeline, user: User, permissions: Iterable[Permission]) -> PipelineAccessGrant:
    stored = _required(permissions)
    team = await _owning_team(pipeline)
    if team is not None and team.kind == TeamKind.TEAM:
        membership = await TeamMembership.get_or_none(team_id=team.id, user_id=user.id)
        if membership is not None and membership.role != TeamRole.COLLABORATOR:
            raise DomainError(
                ErrorCode.PERMISSIONS_STATIC,
                f"in Heroku Team {team.name}, admins and members have static permissions on review and CI apps",
                field="user",
            )
    async with in_transaction():
        existing = await PipelineAccessGrant.select_for_update().get_or_none(pipeline_id=pipeline.id, user_id=user.id)
        if existing is None:
            try:
                return await PipelineAccessGrant.create(pipeline=pipeline, user=user, permissions=stored)
            except IntegrityError:
                raise DomainError(ErrorCode.INVALID, f"{user.email} was just granted access", field="user") from None
        existing.permissions = stored
        await existing.save(update_fields=["permissions"])
    return existing


async def revoke(pipeline: Pipeline, user: User) -> None:
    if not await PipelineAccessGrant.filter(pipeline_id=pipeline.id, user_id=user.id).delete():
        raise NotFound("pipeline access of", user.email, field="user")


async def update_auto_join(pipeline: Pipeline, *, enabled: bool, permissions: Iterable[Permission] | None) -> Pipeline:
    team = await _owning_team(pipeline)
    if team is None:
        raise DomainError(
            ErrorCode.AUTO_JOIN_NOT_AVAILABLE,
            f"pipeline {pipeline.name} belongs to a person: there is no auto-join, grant access to users instead",
            field="pipeline",
        )
    if team.kind == TeamKind.TEAM:
        raise DomainError(
            ErrorCode.PERMISSIONS_STATIC,
            f"auto-join of Heroku Team {team.name} is static (VIEW, DEPLOY, OPERATE); Enterprise Teams can change it",
            field="pipeline",
        )
    pipeline.auto_join = enabled
    # Turning auto-join off with no permissions keeps the old ones, for when it is turned back on.
    if permissions is not None and (enabled or _stored(permissions)):
        pipeline.auto_join_permissions = _required(permissions)
    await pipeline.save(update_fields=["auto_join", "auto_join_permissions", "updated_at"])
    return pipeline


async def auto_join_permissions(pipeline: Pipeline, team: Team | None) -> frozenset[Permission]:
    """What members get on new ephemeral apps; nothing when the pipeline is personal or auto-join is off."""
    if team is None or not pipeline.auto_join:
        return frozenset()
    if team.kind == TeamKind.TEAM:
        return STATIC_AUTO_JOIN
    return frozenset(Permission(p) for p in pipeline.auto_join_permissions)


async def pipeline_permissions(pipeline: Pipeline, user: User) -> frozenset[Permission]:
    """The user's pipeline-level permissions on its ephemeral apps: auto-join as a member, plus a manual grant."""
    team = await _owning_team(pipeline)
    permissions: set[Permission] = set()
    if team is not None:
        membership = await TeamMembership.get_or_none(team_id=team.id, user_id=user.id)
        if membership is not None and membership.role == TeamRole.MEMBER:
            permissions |= await auto_join_permissions(pipeline, team)
    grant_row = await PipelineAccessGrant.get_or_none(pipeline_id=pipeline.id, user_id=user.id)
    if grant_row is not None:
        permissions |= {Permission(p) for p in grant_row.permissions}
    return frozenset(permissions)


# Ephemeral apps ---------------------------------------------------------------------------------------------------


async def require_create_ephemeral(access: Access, pipeline: Pipeline, kind: EphemeralKind) -> None:
    """Pipeline admins and members may; anyone else needs pipeline access allowing it (the seed's table)."""
    await access.require("createEphemeralApp", pipeline=pipeline)
    rights = await access.pipeline_rights(pipeline, await access.pipeline_apps(pipeline))
    if PipelineRight.MEMBER in rights:
        return
    permissions = await pipeline_permissions(pipeline, access.viewer)
    if not permissions and PipelineRight.VIEW not in rights:
        raise NotFound("pipeline", pipeline.name, field="pipeline")
    if not ephemeral_allows(permissions, _KIND_ACTION[kind]):
        raise DomainError(
            ErrorCode.NO_PIPELINE_ACCESS,
            f"creating {kind.value} apps in pipeline {pipeline.name} needs pipeline access allowing "
            f"{_KIND_ACTION[kind].value}",
            field="pipeline",
        )


async def create_ephemeral_app(pipeline: Pipeline, *, name: str, kind: EphemeralKind, default_stack: str) -> App:
    """A review or CI app under the pipeline owner, with the pipeline's access as it is now, stored on the app."""
    team = await _owning_team(pipeline)
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
                AppCollaborator(app_id=app.id, user_id=user_id, permissions=_stored(permissions))
                for user_id, permissions in given.items()
            ]
        )
    return app
