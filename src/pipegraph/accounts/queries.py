from __future__ import annotations

import strawberry

from pipegraph.accounts.types import UserType
from pipegraph.api.context import Context


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The user the API token belongs to.")
    def viewer(self, info: strawberry.Info[Context, None]) -> UserType:
        return UserType.from_model(info.context.viewer)
