from __future__ import annotations

import strawberry

from pipegraph.accounts.service import get_user
from pipegraph.api.context import Context
from pipegraph.api.errors import UserErrorType, run_mutation
from pipegraph.core.errors import NotFound
from pipegraph.teams import service
from pipegraph.teams.models import TeamKind, TeamRole
from pipegraph.teams.types import TeamType

TEAM_HELP = "Team name or global ID."
USER_HELP = "The user's email or global ID."


@strawberry.input
class CreateTeamInput:
    name: str = strawberry.field(description="Lowercase letters, digits and dashes, 3 to 30, starting with a letter.")
    kind: TeamKind = TeamKind.TEAM


@strawberry.input
class AddTeamMemberInput:
    team: str = strawberry.field(description=TEAM_HELP)
    user: str = strawberry.field(description=USER_HELP)
    role: TeamRole = TeamRole.MEMBER


@strawberry.input
class RemoveTeamMemberInput:
    team: str = strawberry.field(description=TEAM_HELP)
    user: str = strawberry.field(description=USER_HELP)


@strawberry.input
class SetTeamMemberRoleInput:
    team: str = strawberry.field(description=TEAM_HELP)
    user: str = strawberry.field(description=USER_HELP)
    role: TeamRole


@strawberry.type
class TeamPayload:
    team: TeamType | None = None
    user_errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class TeamMutations:
    @strawberry.mutation(description="Create a team; the viewer becomes its first admin.")
    async def create_team(self, info: strawberry.Info[Context, None], input: CreateTeamInput) -> TeamPayload:
        async def action() -> TeamPayload:
            await info.context.access.require("createTeam")
            team = await service.create_team(creator=info.context.viewer, name=input.name, kind=input.kind)
            return TeamPayload(team=TeamType.from_model(team))

        return await run_mutation(TeamPayload, action())

    @strawberry.mutation(description="Add an existing user to a team (team admins only).")
    async def add_team_member(self, info: strawberry.Info[Context, None], input: AddTeamMemberInput) -> TeamPayload:
        async def action() -> TeamPayload:
            team = await service.authorized_team(info.context.access, input.team, "addTeamMember")
            user = await get_user(input.user)
            await service.add_member(team, user, input.role)
            return TeamPayload(team=TeamType.from_model(team))

        return await run_mutation(TeamPayload, action())

    @strawberry.mutation(
        description="Take a user out of a team (team admins; anyone may leave). A team keeps at least one admin."
    )
    async def remove_team_member(
        self, info: strawberry.Info[Context, None], input: RemoveTeamMemberInput
    ) -> TeamPayload:
        async def action() -> TeamPayload:
            access = info.context.access
            team = await service.get_team(input.team)
            user = await get_user(input.user)
            if user.id == info.context.viewer.id:
                # Leaving: any role may, so the admin rule is not asked; an outsider still learns nothing.
                if await access.team_role(team.id) is None:
                    raise NotFound("team", input.team, field="team")
            else:
                team = await service.authorized_team(access, input.team, "removeTeamMember")
            await service.remove_member(team, user)
            return TeamPayload(team=TeamType.from_model(team))

        return await run_mutation(TeamPayload, action())

    @strawberry.mutation(description="Change a member's role (team admins only). A team keeps at least one admin.")
    async def set_team_member_role(
        self, info: strawberry.Info[Context, None], input: SetTeamMemberRoleInput
    ) -> TeamPayload:
        async def action() -> TeamPayload:
            team = await service.authorized_team(info.context.access, input.team, "setTeamMemberRole")
            user = await get_user(input.user)
            await service.set_member_role(team, user, input.role)
            return TeamPayload(team=TeamType.from_model(team))

        return await run_mutation(TeamPayload, action())
