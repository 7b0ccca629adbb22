"""Team loaders."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, one_by
from pipegraph.teams.models import Team


@loader
def team_by_id() -> DataLoader[int, Team | None]:
    return one_by(Team)
