"""GitHub loaders, declared here and built per operation by `Loaders`."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, one_by
from pipegraph.github.models import Deploy


@loader
def deploy_by_id() -> DataLoader[int, Deploy | None]:
    return one_by(Deploy)
