from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_team
from pipegraph.accounts.service import get_user
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.teams import service
from pipegraph.teams.models import TeamKind, TeamRole
from pipegraph.teams.types import TeamType

TEAM_HELP = "Team name or global ID."
USER_HELP = "The user's email or global ID."


@strawberry.input(description="A new team.")
class CreateTeamInput:
    name: str = strawberry.field(description="Lowercase letters, digits and dashes, 3 to 30, starting with a letter.")
    kind: TeamKind = strawberry.field(default=TeamKind.TEAM, description="TEAM or ENTERPRISE_TEAM; TEAM unless given.")


@strawberry.input(description="A user to add to a team, and their role.")
class AddTeamMemberInput:
    team: str = strawberry.field(description=TEAM_HELP)
    user: str = strawberry.field(description=USER_HELP)
    role: TeamRole = strawberry.field(
        default=TeamRole.MEMBER, description="Their role in the team; MEMBER unless given."
    )


@strawberry.input(description="A member to take out of a team.")
class RemoveTeamMemberInput:
    team: str = strawberry.field(description=TEAM_HELP)
    user: str = strawberry.field(description=USER_HELP)


@strawberry.input(description="A member of a team and their new role.")
class SetTeamMemberRoleInput:
    team: str = strawberry.field(description=TEAM_HELP)
    user: str = strawberry.field(description=USER_HELP)
    role: TeamRole = strawberry.field(description="Their new role.")


@strawberry.type(description="The result of a change to a team or its members.")
class TeamPayload(Payload):
    team: TeamType | None = strawberry.field(default=None, description="The team after the change; null if refused.")


@strawberry.type
class TeamMutations:
    @mutation(description="Create a team; the viewer becomes its first admin.")
    async def create_team(
        self,
        info: Info,
        input: Annotated[CreateTeamInput, strawberry.argument(description="Parameters for createTeam.")],
    ) -> TeamPayload:
        await info.context.access.require("createTeam")
        team = await service.create_team(
            creator=info.context.viewer, name=input.name, kind=input.kind, redis_url=info.context.settings.redis_url
        )
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(description="Add an existing user to a team (team admins only).")
    async def add_team_member(
        self,
        info: Info,
        input: Annotated[AddTeamMemberInput, strawberry.argument(description="Parameters for addTeamMember.")],
    ) -> TeamPayload:
        team = await authorized_team(info.context.access, input.team, "addTeamMember")
        user = await get_user(input.user)
        await service.add_member(team, user, input.role, redis_url=info.context.settings.redis_url)
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(description="Take a user out of a team (team admins; anyone may leave). A team keeps at least one admin.")
    async def remove_team_member(
        self,
        info: Info,
        input: Annotated[RemoveTeamMemberInput, strawberry.argument(description="Parameters for removeTeamMember.")],
    ) -> TeamPayload:
        access = info.context.access
        team = await authorized_team(access, input.team, None)
        user = await get_user(input.user)
        if user.id != info.context.viewer.id:  # leaving needs no role beyond being in the team
            await access.require("removeTeamMember", team=team)
        await service.remove_member(team, user, redis_url=info.context.settings.redis_url)
        return TeamPayload(team=TeamType.from_model(team))

    @mutation(description="Change a member's role (team admins only). A team keeps at least one admin.")
    async def set_team_member_role(
        self,
        info: Info,
        input: Annotated[SetTeamMemberRoleInput, strawberry.argument(description="Parameters for setTeamMemberRole.")],
    ) -> TeamPayload:
        team = await authorized_team(info.context.access, input.team, "setTeamMemberRole")
        user = await get_user(input.user)
        await service.set_member_role(team, user, input.role, redis_url=info.context.settings.redis_url)
        return TeamPayload(team=TeamType.from_model(team))
