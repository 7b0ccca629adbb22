"""Promotion loaders: targets of many promotions in one statement, and promotions by id."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.core.loaders import loader, many_by, one_by
from pipegraph.promotions.models import Promotion, PromotionTarget


@loader
def promotion_by_id() -> DataLoader[int, Promotion | None]:
    return one_by(Promotion)


@loader
def promotion_target_by_id() -> DataLoader[int, PromotionTarget | None]:
    return one_by(PromotionTarget)


@loader
def targets_by_promotion() -> DataLoader[int, list[PromotionTarget]]:
    return many_by(PromotionTarget, "promotion_id")
