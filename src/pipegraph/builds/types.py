from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from pipegraph.accounts.loaders import user_by_id
from pipegraph.accounts.types import UserType
from pipegraph.api.context import Info
from pipegraph.api.nodes import resolve_visible
from pipegraph.apps.loaders import app_by_id
from pipegraph.apps.types import seen_through_their_app, sees_apps
from pipegraph.builds.loaders import build_by_id
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.core.enums import describe_values
from pipegraph.releases.loaders import release_by_id
from pipegraph.slugs.loaders import slug_by_id
from pipegraph.slugs.types import SlugType

if TYPE_CHECKING:
    from pipegraph.apps.types import AppType
    from pipegraph.releases.types import ReleaseType

BuildStatusEnum = strawberry.enum(BuildStatus, name="BuildStatus", description="How a build stands.")


@strawberry.type(name="SourceBlob", description="Where a build's source came from.")
class SourceBlobType:
    url: str = strawberry.field(description="Where the tarball was fetched from.")
    checksum: str | None = strawberry.field(description="SHA256:<hex> the fetched tarball was verified against.")
    version: str | None = strawberry.field(description="The commit, or whatever the client named the source by.")


@strawberry.type(name="BuildLogLine", description="One line of a build's output.")
class BuildLogLineType:
    number: int = strawberry.field(description="1 for the first line.")
    text: str = strawberry.field(description="The line, without its newline.")


@strawberry.type(name="Build", description="Source turned into a slug by buildpacks, then released.")
class BuildType(relay.Node):
    id: relay.NodeID[int]
    status: BuildStatus = strawberry.field(description="PENDING, BUILDING, SUCCEEDED or FAILED.")
    buildpacks: list[str] = strawberry.field(description="The buildpacks that ran, in order.")
    output: str = strawberry.field(description="Every line so far; complete once the build ended.")
    error_message: str | None = strawberry.field(description="Why the build failed, when it did.")
    created_at: datetime = strawberry.field(description="When the build was asked for.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    model: strawberry.Private[Build]

    @classmethod
    def from_model(cls, build: Build) -> BuildType:
        return cls(
            id=build.id,
            status=build.status,
            buildpacks=[str(name) for name in build.buildpacks_used],
            output=build.output,
            error_message=build.error_message,
            created_at=build.created_at,
            updated_at=build.updated_at,
            model=build,
        )

    resolve_nodes = resolve_visible(build_by_id, seen_through_their_app)

    @strawberry.field(description="Where the source came from.")
    def source_blob(self) -> SourceBlobType:
        build = self.model
        return SourceBlobType(url=build.source_url, checksum=build.source_checksum, version=build.source_version)

    @strawberry.field(description="The source version (a commit for a push), as Heroku's build shows it.")
    def source_version(self) -> str | None:
        return self.model.source_version

    @strawberry.field(description="The slug the build made, once it succeeded.")
    async def slug(self, info: Info) -> SlugType | None:
        if self.model.slug_id is None:
            return None
        slug = await info.context.loaders[slug_by_id].load(self.model.slug_id)
        return SlugType.from_model(slug) if slug else None

    @strawberry.field(description="The release the build made, once it succeeded.")
    async def release(self, info: Info) -> Annotated[ReleaseType, strawberry.lazy("pipegraph.releases.types")] | None:
        from pipegraph.releases.types import ReleaseType

        if self.model.release_id is None:
            return None
        release = await info.context.loaders[release_by_id].load(self.model.release_id)
        return ReleaseType.from_model(release) if release else None

    @strawberry.field(description="The app built for.")
    async def app(self, info: Info) -> Annotated[AppType, strawberry.lazy("pipegraph.apps.types")]:
        from pipegraph.apps.types import AppType

        app = await info.context.loaders[app_by_id].load(self.model.app_id)
        assert app is not None
        return AppType.from_model(app)

    @strawberry.field(description="Who started the build.")
    async def created_by(self, info: Info) -> UserType | None:
        if self.model.created_by_id is None:
            return None
        user = await info.context.loaders[user_by_id].load(self.model.created_by_id)
        return UserType.from_model(user) if user else None


# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    BuildStatus,
    {
        BuildStatus.PENDING: "Waiting for a worker.",
        BuildStatus.BUILDING: "Its buildpacks are running.",
        BuildStatus.SUCCEEDED: "It made a slug and a release.",
        BuildStatus.FAILED: "It made nothing; errorMessage and output say why.",
    },
)


async def visible_build(info: Info, app_id: int | None, build_id: int | None) -> BuildType | None:
    """A build as a GraphQL object, or None when there is none or the viewer cannot see its app."""
    if build_id is None or app_id is None or app_id not in await sees_apps(info, [app_id]):
        return None
    build = await info.context.loaders[build_by_id].load(build_id)
    return BuildType.from_model(build) if build else None
