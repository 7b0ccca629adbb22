from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry import relay

from pipegraph.accounts.types import Owner, int_ids, load_owner
from pipegraph.api.context import Context
from pipegraph.api.scalars import JSON
from pipegraph.apps.models import App
from pipegraph.core.relay import build_connection, decode_int_cursor, encode_cursor, page_size
from pipegraph.pipelines.enums import StageEnum  # noqa: F401 - registers Stage as a GraphQL enum
from pipegraph.pipelines.models import Stage
from pipegraph.releases.loaders import ReleasePageKey

if TYPE_CHECKING:
    from pipegraph.access.types import CollaboratorType
    from pipegraph.pipelines.types import PipelineType
    from pipegraph.releases.types import ReleaseType

RELEASE_CURSOR = "release"


@strawberry.type(name="App")
class AppType(relay.Node):
    id: relay.NodeID[int]
    name: str
    stack: str
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[App]

    @classmethod
    def from_model(cls, app: App) -> AppType:
        return cls(
            id=app.id,
            name=app.name,
            stack=app.stack,
            created_at=app.created_at,
            updated_at=app.updated_at,
            model=app,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[AppType | None]:
        apps = await info.context.loaders.app_by_id.load_many(int_ids(node_ids))
        return [cls.from_model(app) if app and await info.context.access.can_view_app(app) else None for app in apps]

    @strawberry.field(description="Config vars: the app's own, never copied by a promotion.")
    def config_vars(self) -> JSON:
        return cast(JSON, dict(self.model.config_vars))

    @strawberry.field
    async def owner(self, info: strawberry.Info[Context, None]) -> Owner:
        return await load_owner(info, self.model.owner_id, self.model.team_id)

    @strawberry.field(description="Users given permissions on the app, by email (review and CI apps: as created).")
    async def collaborators(
        self, info: strawberry.Info[Context, None]
    ) -> list[Annotated[CollaboratorType, strawberry.lazy("pipegraph.access.types")]]:
        from pipegraph.access.types import app_collaborators

        return await app_collaborators(info, self.model)

    @strawberry.field(description="A review or CI app, created by createEphemeralApp.")
    def ephemeral(self) -> bool:
        return self.model.ephemeral

    @strawberry.field(description="The pipeline the app is in, if any.")
    async def pipeline(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[PipelineType, strawberry.lazy("pipegraph.pipelines.types")] | None:
        from pipegraph.pipelines.types import PipelineType

        coupling = await info.context.loaders.coupling_by_app.load(self.id)
        if coupling is None:
            return None
        pipeline = await info.context.loaders.pipeline_by_id.load(coupling.pipeline_id)
        return PipelineType.from_model(pipeline) if pipeline else None

    @strawberry.field(description="The app's stage in its pipeline, if it is in one.")
    async def stage(self, info: strawberry.Info[Context, None]) -> Stage | None:
        coupling = await info.context.loaders.coupling_by_app.load(self.id)
        return coupling.stage if coupling else None

    @strawberry.field(description="The release the app runs now: the one with `current: true`.")
    async def current_release(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[ReleaseType, strawberry.lazy("pipegraph.releases.types")] | None:
        from pipegraph.releases.types import ReleaseType

        release = await info.context.loaders.current_release_by_app.load(self.id)
        return ReleaseType.from_model(release) if release else None

    @strawberry.field(description="Releases, newest first.")
    async def releases(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> relay.Connection[Annotated[ReleaseType, strawberry.lazy("pipegraph.releases.types")]]:
        from pipegraph.releases.types import ReleaseType

        size = page_size(first)
        before = decode_int_cursor(RELEASE_CURSOR, after)
        rows = await info.context.loaders.release_pages.load(ReleasePageKey(self.id, size + 1, before))
        return build_connection(
            rows,
            first=size,
            cursor_of=lambda release: encode_cursor(RELEASE_CURSOR, release.version),
            node_of=ReleaseType.from_model,
            has_previous_page=before is not None,
        )
