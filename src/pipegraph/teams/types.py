from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from pipegraph.accounts.loaders import user_by_id
from pipegraph.accounts.types import UserType
from pipegraph.api.context import Info
from pipegraph.api.nodes import resolve_visible
from pipegraph.core.enums import describe_values
from pipegraph.teams.loaders import team_by_id
from pipegraph.teams.models import Team, TeamKind, TeamMembership, TeamRole

TeamKindEnum = strawberry.enum(TeamKind, name="TeamKind", description="A Heroku Team, or an Enterprise Team.")
TeamRoleEnum = strawberry.enum(
    TeamRole,
    name="TeamRole",
    description="ADMIN manages the team; MEMBER works on all its apps; COLLABORATOR only on apps shared with them.",
)


async def _teams_of_viewer(info: Info, teams: list[Team]) -> list[int]:
    rights = await info.context.access.rights()
    return [team.id for team in teams if rights.in_team(team.id)]


@strawberry.type(name="TeamMember", description="A user in a team, and their role.")
class TeamMemberType:
    role: TeamRole = strawberry.field(description="Their role in the team.")
    user_id: strawberry.Private[int]

    @strawberry.field(description="The member.")
    async def user(self, info: Info) -> UserType:
        user = await info.context.loaders[user_by_id].load(self.user_id)
        assert user is not None  # a membership cascades away with its user
        return UserType.from_model(user)


@strawberry.type(name="Team", description="A team that owns apps and pipelines; seen by its members only.")
class TeamType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The team's unique name.")
    kind: TeamKind = strawberry.field(description="A Heroku Team or an Enterprise Team.")
    created_at: datetime = strawberry.field(description="When the team was created.")

    @classmethod
    def from_model(cls, team: Team) -> TeamType:
        return cls(id=team.id, name=team.name, kind=team.kind, created_at=team.created_at)

    resolve_nodes = resolve_visible(team_by_id, _teams_of_viewer)

    @strawberry.field(description="Everyone in the team with their role, by email.")
    async def members(self, info: Info) -> list[TeamMemberType]:
        if not (await info.context.access.rights()).in_team(self.id):
            return []  # an owner shown to a non-member (a pipeline they see through an app) keeps its roster private
        memberships = await TeamMembership.filter(team_id=self.id).select_related("user").order_by("user__email")
        for membership in memberships:
            info.context.loaders[user_by_id].prime(membership.user_id, membership.user)
        return [TeamMemberType(role=membership.role, user_id=membership.user_id) for membership in memberships]


async def teams_of(info: Info, user_id: int) -> list[TeamType]:
    """The user's teams that the viewer shares with them (all of them for the viewer themself)."""
    shared = [membership.team_id for membership in await TeamMembership.filter(user_id=info.context.viewer.id)]
    memberships = await TeamMembership.filter(user_id=user_id, team_id__in=shared or [-1]).select_related("team")
    return sorted((TeamType.from_model(m.team) for m in memberships), key=lambda team: team.name)


__all__ = ["TeamKindEnum", "TeamMemberType", "TeamRoleEnum", "TeamType", "teams_of"]

# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    TeamKind,
    {
        TeamKind.TEAM: "A Heroku Team: auto-join permissions are fixed.",
        TeamKind.ENTERPRISE_TEAM: "An Enterprise Team: auto-join permissions can be changed.",
    },
)
describe_values(
    TeamRole,
    {
        TeamRole.ADMIN: "Manages the team and has every permission on its apps.",
        TeamRole.MEMBER: "Views, deploys and operates all the team's apps.",
        TeamRole.COLLABORATOR: "Works only on the team's apps shared with them.",
    },
)
