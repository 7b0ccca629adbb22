from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar, cast

import strawberry
from strawberry import relay

from pipegraph.access.rules import Permission
from pipegraph.accounts.loaders import user_by_id
from pipegraph.accounts.types import Owner, UserType, load_owner
from pipegraph.api.context import Info
from pipegraph.api.nodes import Keyset, keyset_page, resolve_visible
from pipegraph.api.scalars import JSON
from pipegraph.apps.loaders import app_by_id, collaborators_by_app
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.core.enums import describe_values
from pipegraph.core.relay import After, First
from pipegraph.pipelines.enums import StageEnum  # noqa: F401 - registers Stage as a GraphQL enum
from pipegraph.pipelines.loaders import coupling_by_app, pipeline_by_id
from pipegraph.pipelines.models import PipelineAccessGrant, Stage
from pipegraph.releases.loaders import ReleasePageKey, current_release_by_app, release_pages
from pipegraph.releases.models import Release

if TYPE_CHECKING:
    from pipegraph.builds.types import BuildType
    from pipegraph.pipelines.types import PipelineType
    from pipegraph.releases.types import ReleaseType
    from pipegraph.sources.types import AppComparisonResult, AppComparisonType

RELEASES = Keyset.by_number("release")
BUILDS = Keyset.by_number("build")

PermissionEnum = strawberry.enum(
    Permission, name="Permission", description="Heroku's app permissions; on the pipeline access tab, what they allow."
)


class OfAnApp(Protocol):
    """A row that belongs to an app, and shows to whoever sees that app (a slug, a release, a promotion target)."""

    @property
    def pk(self) -> Any: ...

    app_id: int


R = TypeVar("R", bound=OfAnApp)


async def sees_apps(info: Info, app_ids: Iterable[int]) -> set[int]:
    """Which of these apps the viewer sees, loaded through the operation's loader (one batched statement at most)."""
    apps = await info.context.loaders[app_by_id].load_many(list(set(app_ids)))
    return {app.id for app in apps if app is not None and await info.context.access.can_view_app(app)}


async def visible_app(info: Info, app_id: int | None) -> AppType | None:
    """The app as a GraphQL object, or None when there is none or the viewer cannot see it."""
    if app_id is None or app_id not in await sees_apps(info, [app_id]):
        return None
    app = await info.context.loaders[app_by_id].load(app_id)
    return AppType.from_model(app) if app else None


async def seen_through_their_app(info: Info, rows: list[R]) -> list[Any]:
    """The keys of the rows whose app the viewer sees."""
    seen = await sees_apps(info, [row.app_id for row in rows])
    return [row.pk for row in rows if row.app_id in seen]


async def _seen_apps(info: Info, apps: list[App]) -> list[int]:
    return [app.id for app in apps if await info.context.access.can_view_app(app)]


@strawberry.type(name="Collaborator", description="A user given permissions on an app.")
class CollaboratorType:
    permissions: list[Permission] = strawberry.field(description="What the user may do.")
    user_id: strawberry.Private[int]

    @strawberry.field(description="The user given the permissions.")
    async def user(self, info: Info) -> UserType:
        user = await info.context.loaders[user_by_id].load(self.user_id)
        assert user is not None  # rows naming a user cascade away with it
        return UserType.from_model(user)

    @classmethod
    def from_model(cls, row: AppCollaborator | PipelineAccessGrant) -> CollaboratorType:
        return cls(permissions=[Permission(permission) for permission in row.permissions], user_id=row.user_id)

    @classmethod
    def by_email(cls, rows: Iterable[AppCollaborator | PipelineAccessGrant]) -> list[CollaboratorType]:
        """Rows loaded with their user, as listed: by email."""
        return [cls.from_model(row) for row in sorted(rows, key=lambda row: row.user.email)]


async def app_collaborators(info: Info, app: App) -> list[CollaboratorType]:
    return CollaboratorType.by_email(await info.context.loaders[collaborators_by_app].load(app.id))


@strawberry.type(name="App", description="A deployable application: its releases, config vars and place in a pipeline.")
class AppType(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="The app's unique name.")
    stack: str = strawberry.field(description="The stack its slugs run on, e.g. heroku-24.")
    created_at: datetime = strawberry.field(description="When the app was created.")
    updated_at: datetime = strawberry.field(description="When the app last changed.")
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

    resolve_nodes = resolve_visible(app_by_id, _seen_apps)

    @strawberry.field(description="Config vars: the app's own, never copied by a promotion.")
    def config_vars(self) -> JSON:
        return cast(JSON, dict(self.model.config_vars))

    @strawberry.field(description="The person or team that owns the app.")
    async def owner(self, info: Info) -> Owner:
        return await load_owner(info, self.model.owner_id, self.model.team_id)

    @strawberry.field(description="Users given permissions on the app, by email (review and CI apps: as created).")
    async def collaborators(self, info: Info) -> list[CollaboratorType]:
        return await app_collaborators(info, self.model)

    @strawberry.field(description="The viewer's own permissions on the app: what a client may offer them to do.")
    async def viewer_permissions(self, info: Info) -> list[Permission]:
        permissions = await info.context.access.app_permissions(self.model)
        return [permission for permission in Permission if permission in permissions]  # in Heroku's order

    @strawberry.field(description="A review or CI app, created by createEphemeralApp.")
    def ephemeral(self) -> bool:
        return self.model.ephemeral

    @strawberry.field(description="The pipeline the app is in, if any.")
    async def pipeline(
        self, info: Info
    ) -> Annotated[PipelineType, strawberry.lazy("pipegraph.pipelines.types")] | None:
        from pipegraph.pipelines.types import PipelineType

        coupling = await info.context.loaders[coupling_by_app].load(self.id)
        if coupling is None:
            return None
        pipeline = await info.context.loaders[pipeline_by_id].load(coupling.pipeline_id)
        return PipelineType.from_model(pipeline) if pipeline else None

    @strawberry.field(description="The app's stage in its pipeline, if it is in one.")
    async def stage(self, info: Info) -> Stage | None:
        coupling = await info.context.loaders[coupling_by_app].load(self.id)
        return coupling.stage if coupling else None

    @strawberry.field(description="The release the app runs now: the one with `current: true`.")
    async def current_release(
        self, info: Info
    ) -> Annotated[ReleaseType, strawberry.lazy("pipegraph.releases.types")] | None:
        from pipegraph.releases.types import ReleaseType

        release = await info.context.loaders[current_release_by_app].load(self.id)
        return ReleaseType.from_model(release) if release else None

    @strawberry.field(description="Releases, newest first.")
    async def releases(
        self, info: Info, first: First = None, after: After = None
    ) -> relay.Connection[Annotated[ReleaseType, strawberry.lazy("pipegraph.releases.types")]]:
        from pipegraph.releases.types import ReleaseType

        async def fetch(limit: int, before: int | None) -> list[Release]:
            return await info.context.loaders[release_pages].load(ReleasePageKey(self.id, limit, before))

        return await keyset_page(
            RELEASES,
            first=first,
            after=after,
            fetch=fetch,
            key=lambda release: release.version,
            node_of=ReleaseType.from_model,
        )

    @strawberry.field(description="Builds, newest first.")
    async def builds(
        self, info: Info, first: First = None, after: After = None
    ) -> relay.Connection[Annotated[BuildType, strawberry.lazy("pipegraph.builds.types")]]:
        from pipegraph.builds.loaders import BuildPageKey, build_pages
        from pipegraph.builds.types import BuildType

        async def fetch(limit: int, before: int | None) -> list[Any]:
            return await info.context.loaders[build_pages].load(BuildPageKey(self.id, limit, before))

        return await keyset_page(
            BUILDS, first=first, after=after, fetch=fetch, key=lambda build: build.id, node_of=BuildType.from_model
        )

    @strawberry.field(description="The app's buildpacks, in order (setBuildpacks); empty: detected per build.")
    async def buildpacks(self) -> list[str]:
        from pipegraph.builds.service import app_buildpacks

        return await app_buildpacks(self.id)

    @strawberry.field(
        description="What differs between this app's deployed commit and another app's, from their git history.",
        deprecation_reason="Use comparison: where the apps cannot be compared it answers NotComparable, where this "
        "field is an error that nulls the app.",
    )
    async def compare(
        self,
        info: Info,
        with_: Annotated[str, strawberry.argument(name="with", description="The other app: name or global ID.")],
    ) -> Annotated[AppComparisonType, strawberry.lazy("pipegraph.sources.types")]:
        from pipegraph.sources.types import compare_apps_or_raise

        return await compare_apps_or_raise(info, self.model, with_)

    # Nullable: an unknown `with` is an error on this field alone, never one that nulls the app.
    @strawberry.field(
        description="What differs between this app's deployed commit and another app's, from their git history, or "
        "why git cannot tell (NotComparable). Null, with an error, when the other app is not found."
    )
    async def comparison(
        self,
        info: Info,
        with_: Annotated[str, strawberry.argument(name="with", description="The other app: name or global ID.")],
    ) -> Annotated[AppComparisonResult, strawberry.lazy("pipegraph.sources.types")] | None:
        from pipegraph.sources.types import compare_apps

        return await compare_apps(info, self.model, with_)


# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    Permission,
    {
        Permission.VIEW: "See the app, its releases and config.",
        Permission.DEPLOY: "Deploy, promote to and roll back the app.",
        Permission.OPERATE: "Operate the app's running processes.",
        Permission.MANAGE: "Manage the app: its collaborators and its place in a pipeline.",
    },
)
