"""Slug loaders."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, one_by
from pipegraph.slugs.models import Slug


@loader
def slug_by_id() -> DataLoader[int, Slug | None]:
    return one_by(Slug)
