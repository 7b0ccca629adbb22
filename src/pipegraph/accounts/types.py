from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Union

import strawberry
from strawberry import relay
from strawberry.types.lazy_type import LazyType

from pipegraph.access.checks import sees_users
from pipegraph.accounts import service
from pipegraph.accounts.loaders import api_token_by_id, user_by_id
from pipegraph.accounts.models import ApiToken, User
from pipegraph.api.context import Info
from pipegraph.api.nodes import Keyset, keyset_page, resolve_visible
from pipegraph.core.relay import After, First
from pipegraph.teams.loaders import team_by_id

API_TOKENS = Keyset.by_number("apitoken")

if TYPE_CHECKING:
    from pipegraph.teams.types import TeamType


async def _own_tokens(info: Info, tokens: list[ApiToken]) -> list[int]:
    # Only the viewer's own tokens exist for them: anyone else's is null, like an id that names nothing.
    return [token.id for token in tokens if token.user_id == info.context.viewer.id]


async def _seen_users(info: Info, users: list[User]) -> set[int]:
    return await sees_users(info.context.access, [user.id for user in users])


@strawberry.type(name="ApiToken", description="An API token; its secret is shown once, by createApiToken, never again.")
class ApiTokenType(relay.Node):
    id: relay.NodeID[int]
    description: str = strawberry.field(description="What the token is for, as its owner wrote it.")
    created_at: datetime = strawberry.field(description="When the token was created.")
    last_used_at: datetime | None = strawberry.field(description="Recorded to the minute, not on every request.")
    revoked_at: datetime | None = strawberry.field(description="When the token was revoked; null while it works.")

    @classmethod
    def from_model(cls, token: ApiToken) -> ApiTokenType:
        return cls(
            id=token.id,
            description=token.description,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )

    resolve_nodes = resolve_visible(api_token_by_id, _own_tokens)


@strawberry.type(name="User", description="A person who uses pipegraph, known by email.")
class UserType(relay.Node):
    id: relay.NodeID[int]
    email: str = strawberry.field(description="The user's email address, in lowercase.")
    name: str = strawberry.field(description="The user's name, if given.")
    created_at: datetime = strawberry.field(description="When the user was created.")

    @classmethod
    def from_model(cls, user: User) -> UserType:
        return cls(id=user.id, email=user.email, name=user.name, created_at=user.created_at)

    resolve_nodes = resolve_visible(user_by_id, _seen_users)

    @strawberry.field(description="The user's teams: all of them for the viewer, else those shared with the viewer.")
    async def teams(self, info: Info) -> list[Annotated[TeamType, strawberry.lazy("pipegraph.teams.types")]]:
        from pipegraph.teams.types import teams_of

        return await teams_of(info, self.id)

    @strawberry.field(
        description="The user's API tokens, newest first, revoked ones too; null for anyone but the viewer."
    )
    async def api_tokens(
        self, info: Info, first: First = None, after: After = None
    ) -> relay.Connection[ApiTokenType] | None:
        viewer = info.context.viewer
        if self.id != viewer.id:
            return None
        return await keyset_page(
            API_TOKENS,
            first=first,
            after=after,
            fetch=lambda limit, before: service.list_tokens(viewer, limit=limit, before_id=before),
            key=lambda token: token.id,
            node_of=ApiTokenType.from_model,
        )


# A team when the thing is team-owned, else the user who owns it personally.
# Teams import this module, so TeamType is named lazily, as an object: a string would be looked up in the namespace
# of each module that uses Owner.
_LAZY_TEAM: Any = LazyType("TeamType", "pipegraph.teams.types")
OWNER_HELP = "Who owns an app or a pipeline: a person or a team."
Owner = Annotated[Union[UserType, _LAZY_TEAM], strawberry.union("Owner", description=OWNER_HELP)]  # noqa: UP007 - `|` cannot take a LazyType


async def visible_user(info: Info, user_id: int | None) -> UserType | None:
    """A user the viewer meets (a teammate, a collaborator, …), else None: what an actor field shows."""
    if user_id is None or user_id not in await sees_users(info.context.access, [user_id]):
        return None
    user = await info.context.loaders[user_by_id].load(user_id)
    return UserType.from_model(user) if user else None


async def load_owner(info: Info, user_id: int, team_id: int | None = None) -> Any:
    if team_id is not None:
        from pipegraph.teams.types import TeamType

        team = await info.context.loaders[team_by_id].load(team_id)
        return TeamType.from_model(team) if team else None
    user = await info.context.loaders[user_by_id].load(user_id)
    return UserType.from_model(user) if user else None
