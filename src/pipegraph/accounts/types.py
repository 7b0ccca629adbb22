from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Union

import strawberry
from strawberry import relay
from strawberry.types.lazy_type import LazyType

from pipegraph.access.checks import sees_users
from pipegraph.accounts import service
from pipegraph.accounts.models import ApiToken, User
from pipegraph.api.context import Context
from pipegraph.core.relay import build_connection, db_id, decode_int_cursor, encode_cursor, page_size

API_TOKEN_CURSOR = "apitoken"

if TYPE_CHECKING:
    from pipegraph.teams.types import TeamType


def int_ids(node_ids: Iterable[str]) -> list[int]:
    """Node ids that are not integers (or too big for a key) cannot exist: map them to an id no row has."""
    return [db_id(node_id) for node_id in node_ids]


@strawberry.type(name="ApiToken", description="An API token; its secret is shown once, by createApiToken, never again.")
class ApiTokenType(relay.Node):
    id: relay.NodeID[int]
    description: str
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(description="Recorded to the minute, not on every request.")
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, token: ApiToken) -> ApiTokenType:
        return cls(
            id=token.id,
            description=token.description,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[ApiTokenType | None]:
        # Only the viewer's own tokens exist for them: anyone else's is null, like an id that names nothing.
        ids = int_ids(node_ids)
        tokens = {token.id: token for token in await ApiToken.filter(id__in=ids, user_id=info.context.viewer.id)}
        return [cls.from_model(tokens[id_]) if id_ in tokens else None for id_ in ids]


@strawberry.type(name="User")
class UserType(relay.Node):
    id: relay.NodeID[int]
    email: str
    name: str
    created_at: datetime

    @classmethod
    def from_model(cls, user: User) -> UserType:
        return cls(id=user.id, email=user.email, name=user.name, created_at=user.created_at)

    @strawberry.field(description="The user's teams: all of them for the viewer, else those shared with the viewer.")
    async def teams(
        self, info: strawberry.Info[Context, None]
    ) -> list[Annotated[TeamType, strawberry.lazy("pipegraph.teams.types")]]:
        from pipegraph.teams.types import teams_of

        return await teams_of(info, self.id)

    @strawberry.field(
        description="The user's API tokens, newest first, revoked ones too; null for anyone but the viewer."
    )
    async def api_tokens(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> relay.Connection[ApiTokenType] | None:
        viewer = info.context.viewer
        if self.id != viewer.id:
            return None
        size = page_size(first)
        before_id = decode_int_cursor(API_TOKEN_CURSOR, after)
        rows = await service.list_tokens(viewer, limit=size + 1, before_id=before_id)
        return build_connection(
            rows,
            first=size,
            cursor_of=lambda token: encode_cursor(API_TOKEN_CURSOR, token.id),
            node_of=ApiTokenType.from_model,
            has_previous_page=before_id is not None,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[UserType | None]:
        users = await info.context.loaders.user_by_id.load_many(int_ids(node_ids))
        seen = await sees_users(info.context.access, [user.id for user in users if user])
        return [cls.from_model(user) if user and user.id in seen else None for user in users]


# A team when the thing is team-owned, else the user who owns it personally.
# Teams import this module, so TeamType is named lazily, as an object: a string would be looked up in the namespace
# of each module that uses Owner.
_LAZY_TEAM: Any = LazyType("TeamType", "pipegraph.teams.types")
Owner = Annotated[Union[UserType, _LAZY_TEAM], strawberry.union("Owner")]  # noqa: UP007 - `|` cannot take a LazyType


async def load_owner(info: strawberry.Info[Context, None], user_id: int, team_id: int | None = None) -> Any:
    if team_id is not None:
        from pipegraph.teams.types import TeamType

        team = await info.context.loaders.team_by_id.load(team_id)
        return TeamType.from_model(team) if team else None
    user = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_model(user) if user else None
