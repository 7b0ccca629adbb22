"""Review-app loaders, declared here and built per operation by `Loaders`."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, one_by
from pipegraph.reviewapps.models import ReviewApp


@loader
def review_app_by_id() -> DataLoader[int, ReviewApp | None]:
    return one_by(ReviewApp)
