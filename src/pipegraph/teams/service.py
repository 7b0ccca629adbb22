"""Teams: creation under Heroku's name rule, membership, and the rule that a team always keeps an admin."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.names import validate_name
from pipegraph.streams.notices import AccessNotice, announce
from pipegraph.teams.models import Team, TeamKind, TeamMembership, TeamRole


async def create_team(*, creator: User, name: str, kind: TeamKind, redis_url: str | None = None) -> Team:
    """The creator becomes the team's first admin.

    Here and below, `redis_url` is where open WebSockets hear that a user's rights changed (streams/notices.py):
    each call returns once they have."""
    validate_name(name, what="team")
    if await Team.exists(name=name):
        raise DomainError(ErrorCode.NAME_TAKEN, f"team name {name!r} is already taken", field="name")
    try:
        async with in_transaction():
            team = await Team.create(name=name, kind=kind)
            await TeamMembership.create(team=team, user=creator, role=TeamRole.ADMIN)
    except IntegrityError:  # lost a race for the name
        raise DomainError(ErrorCode.NAME_TAKEN, f"team name {name!r} is already taken", field="name") from None
    await announce(redis_url, AccessNotice(users=frozenset({creator.id})))
    return team


async def add_member(team: Team, user: User, role: TeamRole, *, redis_url: str | None = None) -> TeamMembership:
    if await TeamMembership.exists(team_id=team.id, user_id=user.id):
        raise DomainError(
            ErrorCode.ALREADY_TEAM_MEMBER,
            f"{user.email} is already in team {team.name}: use setTeamMemberRole to change the role",
            field="user",
        )
    try:
        membership = await TeamMembership.create(team=team, user=user, role=role)
    except IntegrityError:
        raise DomainError(
            ErrorCode.ALREADY_TEAM_MEMBER, f"{user.email} was just added to team {team.name}", field="user"
        ) from None
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))
    return membership


async def _membership(team: Team, user: User) -> TeamMembership:
    membership = await TeamMembership.select_for_update().get_or_none(team_id=team.id, user_id=user.id)
    if membership is None:
        raise DomainError(ErrorCode.NOT_TEAM_MEMBER, f"{user.email} is not in team {team.name}", field="user")
    return membership


async def _ensure_another_admin(team: Team, membership: TeamMembership) -> None:
    if membership.role != TeamRole.ADMIN:
        return
    # Locks the team's admin rows: two admins demoting each other at once cannot leave the team without one.
    admins = await TeamMembership.select_for_update().filter(team_id=team.id, role=TeamRole.ADMIN)
    if len(admins) <= 1:
        raise DomainError(
            ErrorCode.LAST_TEAM_ADMIN,
            f"team {team.name} must keep at least one admin: make someone else admin first",
            field="user",
        )


async def remove_member(team: Team, user: User, *, redis_url: str | None = None) -> None:
    async with in_transaction():
        membership = await _membership(team, user)
        await _ensure_another_admin(team, membership)
        await membership.delete()
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))


async def set_member_role(team: Team, user: User, role: TeamRole, *, redis_url: str | None = None) -> TeamMembership:
    async with in_transaction():
        membership = await _membership(team, user)
        if role != TeamRole.ADMIN:
            await _ensure_another_admin(team, membership)
        membership.role = role
        await membership.save(update_fields=["role"])
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))
    return membership
