"""The per-request context: the viewer, settings, and fresh DataLoaders (never module-level: they cache forever)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.loaders import many_by, one_by
from pipegraph.pipelines.models import Pipeline, PipelineCoupling
from pipegraph.releases.loaders import ReleasePageKey, current_release_by_app, release_pages
from pipegraph.releases.models import Release
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import SlugStore


@dataclass
class Loaders:
    user_by_id: DataLoader[int, User | None] = field(default_factory=lambda: one_by(User))
    app_by_id: DataLoader[int, App | None] = field(default_factory=lambda: one_by(App))
    app_by_name: DataLoader[str, App | None] = field(default_factory=lambda: one_by(App, "name"))
    slug_by_id: DataLoader[int, Slug | None] = field(default_factory=lambda: one_by(Slug))
    release_by_id: DataLoader[int, Release | None] = field(default_factory=lambda: one_by(Release))
    current_release_by_app: DataLoader[int, Release | None] = field(default_factory=current_release_by_app)
    release_pages: DataLoader[ReleasePageKey, list[Release]] = field(default_factory=release_pages)
    pipeline_by_id: DataLoader[int, Pipeline | None] = field(default_factory=lambda: one_by(Pipeline))
    pipeline_by_name: DataLoader[str, Pipeline | None] = field(default_factory=lambda: one_by(Pipeline, "name"))
    coupling_by_app: DataLoader[int, PipelineCoupling | None] = field(
        default_factory=lambda: one_by(PipelineCoupling, "app_id")
    )
    couplings_by_pipeline: DataLoader[int, list[PipelineCoupling]] = field(
        default_factory=lambda: many_by(PipelineCoupling, "pipeline_id", related=("app",))
    )


@dataclass
class Context:
    viewer: User
    settings: Settings
    slug_store: SlugStore
    request: Any = None
    response: Any = None
    loaders: Loaders = field(default_factory=Loaders)
