from __future__ import annotations

import strawberry

from pipegraph.accounts.types import UserType
from pipegraph.api.context import Info


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The user the API token belongs to.")
    def viewer(self, info: Info) -> UserType:
        return UserType.from_model(info.context.viewer)
