"""App loaders, collaborators included."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from pipegraph.apps.models import App, AppCollaborator
from pipegraph.core.loaders import loader, many_by, one_by


@loader
def app_by_id() -> DataLoader[int, App | None]:
    return one_by(App)


@loader
def app_by_name() -> DataLoader[str, App | None]:
    return one_by(App, "name")


@loader
def collaborators_by_app() -> DataLoader[int, list[AppCollaborator]]:
    return many_by(AppCollaborator, "app_id", related=("user",))
