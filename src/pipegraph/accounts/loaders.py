"""Account loaders."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.accounts.models import ApiToken, User
from pipegraph.core.loaders import loader, one_by


@loader
def user_by_id() -> DataLoader[int, User | None]:
    return one_by(User)


@loader
def api_token_by_id() -> DataLoader[int, ApiToken | None]:
    return one_by(ApiToken)
