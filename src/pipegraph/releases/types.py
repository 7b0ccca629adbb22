from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from pipegraph.accounts.loaders import user_by_id
from pipegraph.accounts.types import UserType
from pipegraph.api.context import Info
from pipegraph.api.nodes import resolve_visible
from pipegraph.apps.loaders import app_by_id
from pipegraph.apps.types import AppType, seen_through_their_app, sees_apps
from pipegraph.core.enums import describe_values
from pipegraph.releases.loaders import release_by_id
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.slugs.loaders import slug_by_id
from pipegraph.slugs.types import SlugType

ReleaseStatusEnum = strawberry.enum(ReleaseStatus, name="ReleaseStatus", description="How a release stands.")


@strawberry.type(name="ReleaseLogLine", description="One line of a release phase's output (stdout and stderr).")
class ReleaseLogLineType:
    number: int = strawberry.field(description="1 for the first line.")
    text: str = strawberry.field(description="The line, without its line break.")


@strawberry.type(name="Release", description="A numbered deployment of a slug to an app.")
class ReleaseType(relay.Node):
    id: relay.NodeID[int]
    version: int = strawberry.field(description="The release's number on its app: 1, 2, 3… with no gaps.")
    status: ReleaseStatus = strawberry.field(
        description="PENDING while its release phase runs, then SUCCEEDED or FAILED."
    )
    current: bool = strawberry.field(
        description="Whether the app runs this release now; exactly one release per app is current."
    )
    description: str = strawberry.field(
        description='What the release is, e.g. "Deploy 9f2c1e0" or "Promote shop-staging v2".'
    )
    error_message: str | None = strawberry.field(description="Why the release failed, when it did.")
    created_at: datetime = strawberry.field(description="When the release was made.")
    updated_at: datetime = strawberry.field(description="When the release last changed (its status).")
    model: strawberry.Private[Release]

    @classmethod
    def from_model(cls, release: Release) -> ReleaseType:
        return cls(
            id=release.id,
            version=release.version,
            status=release.status,
            current=release.is_current,
            description=release.description,
            error_message=release.error_message,
            created_at=release.created_at,
            updated_at=release.updated_at,
            model=release,
        )

    resolve_nodes = resolve_visible(release_by_id, seen_through_their_app)

    @strawberry.field(description="The release phase's output, complete once the release is no longer pending.")
    def log(self) -> str:
        return self.model.release_log

    @strawberry.field(description="The slug the release runs.")
    async def slug(self, info: Info) -> SlugType:
        slug = await info.context.loaders[slug_by_id].load(self.model.slug_id)
        assert slug is not None  # a foreign key with ON DELETE RESTRICT
        return SlugType.from_model(slug)

    @strawberry.field(description="The app the release belongs to.")
    async def app(self, info: Info) -> AppType:
        app = await info.context.loaders[app_by_id].load(self.model.app_id)
        assert app is not None
        return AppType.from_model(app)

    @strawberry.field(description="Who made the release.")
    async def created_by(self, info: Info) -> UserType | None:
        if self.model.created_by_id is None:
            return None
        user = await info.context.loaders[user_by_id].load(self.model.created_by_id)
        return UserType.from_model(user) if user else None

    @strawberry.field(
        description="The release this one was promoted or rolled back from, on another or the same app; "
        "null if the viewer cannot see that app."
    )
    async def source_release(self, info: Info) -> ReleaseType | None:
        if self.model.source_release_id is None:
            return None
        release = await info.context.loaders[release_by_id].load(self.model.source_release_id)
        if release is None or release.app_id not in await sees_apps(info, [release.app_id]):
            return None  # promoted from an app of the pipeline the viewer does not see
        return ReleaseType.from_model(release)


# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    ReleaseStatus,
    {
        ReleaseStatus.PENDING: "Its release phase is running.",
        ReleaseStatus.SUCCEEDED: "It succeeded and became current.",
        ReleaseStatus.FAILED: "Its release phase failed; the app kept its previous release.",
    },
)
