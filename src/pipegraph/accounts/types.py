from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from pipegraph.access.checks import sees_users
from pipegraph.accounts.models import User
from pipegraph.api.context import Context
from pipegraph.core.relay import db_id


def int_ids(node_ids: Iterable[str]) -> list[int]:
    """Node ids that are not integers (or too big for a key) cannot exist: map them to an id no row has."""
    return [db_id(node_id) for node_id in node_ids]


@strawberry.type(name="User")
class UserType(relay.Node):
    id: relay.NodeID[int]
    email: str
    name: str
    created_at: datetime

    @classmethod
    def from_model(cls, user: User) -> UserType:
        return cls(id=user.id, email=user.email, name=user.name, created_at=user.created_at)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[UserType | None]:
        users = await info.context.loaders.user_by_id.load_many(int_ids(node_ids))
        seen = await sees_users(info.context.access, [user.id for user in users if user])
        return [cls.from_model(user) if user and user.id in seen else None for user in users]


# Owners are users today; teams join this union later without breaking clients that use fragments.
Owner = Annotated[UserType, strawberry.union("Owner")]


async def load_owner(info: strawberry.Info[Context, None], user_id: int) -> Any:
    user = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_model(user) if user else None
