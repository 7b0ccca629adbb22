"""The pipeline access tab: manual grants and auto-join, what review and CI apps created afterwards start with.

Access changes apply to ephemeral apps created afterwards only: each review or CI app stores, as collaborator rows,
the permissions it was created with (auto-join for team members, plus manual grants).
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pipegraph.access.rules import Permission, required_permissions, stored_permissions
from pipegraph.accounts.models import User
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, default_auto_join_permissions
from pipegraph.streams.notices import AccessNotice, announce
from pipegraph.teams.models import Team, TeamKind, TeamMembership, TeamRole

# What auto-join gives members of a Heroku Team (not Enterprise): fixed, whatever the pipeline says.
STATIC_AUTO_JOIN = frozenset(Permission(p) for p in default_auto_join_permissions())


async def owning_team(pipeline: Pipeline) -> Team | None:
    return await Team.get(id=pipeline.team_id) if pipeline.team_id is not None else None


async def grant(
    pipeline: Pipeline, user: User, permissions: Iterable[Permission], *, redis_url: str | None = None
) -> PipelineAccessGrant:
    """Returns once open WebSockets heard of it: a grant lets its holder see the pipeline (access/rights.py)."""
    stored = required_permissions(permissions)
    team = await owning_team(pipeline)
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
                existing = await PipelineAccessGrant.create(pipeline=pipeline, user=user, permissions=stored)
            except IntegrityError:
                raise DomainError(ErrorCode.INVALID, f"{user.email} was just granted access", field="user") from None
        else:
            existing.permissions = stored
            await existing.save(update_fields=["permissions"])
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))
    return existing


async def revoke(pipeline: Pipeline, user: User, *, redis_url: str | None = None) -> None:
    """Returns once open WebSockets heard of it: the user's subscriptions on the pipeline get no further event,
    unless they see it otherwise."""
    if not await PipelineAccessGrant.filter(pipeline_id=pipeline.id, user_id=user.id).delete():
        raise NotFound("pipeline access of", user.email, field="user")
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))


async def update_auto_join(pipeline: Pipeline, *, enabled: bool, permissions: Iterable[Permission] | None) -> Pipeline:
    team = await owning_team(pipeline)
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
    if permissions is not None and (enabled or stored_permissions(permissions)):
        pipeline.auto_join_permissions = required_permissions(permissions)
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
    team = await owning_team(pipeline)
    permissions: set[Permission] = set()
    if team is not None:
        membership = await TeamMembership.get_or_none(team_id=team.id, user_id=user.id)
        if membership is not None and membership.role == TeamRole.MEMBER:
            permissions |= await auto_join_permissions(pipeline, team)
    grant_row = await PipelineAccessGrant.get_or_none(pipeline_id=pipeline.id, user_id=user.id)
    if grant_row is not None:
        permissions |= {Permission(p) for p in grant_row.permissions}
    return frozenset(permissions)
