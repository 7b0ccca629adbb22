from __future__ import annotations

import strawberry

from pipegraph.access.checks import authorized_app, authorized_slug
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.releases import service
from pipegraph.releases.types import ReleaseType


@strawberry.input
class CreateReleaseInput:
    app: str = strawberry.field(description="App name or global ID.")
    slug: strawberry.ID = strawberry.field(description="Global ID of an uploaded slug of this app.")
    description: str | None = None


@strawberry.type
class CreateReleasePayload(Payload):
    release: ReleaseType | None = None


@strawberry.input
class RollbackInput:
    app: str = strawberry.field(description="App name or global ID.")
    version: int = strawberry.field(description="The earlier succeeded release whose slug to release again.")


@strawberry.type
class RollbackPayload(Payload):
    release: ReleaseType | None = None


@strawberry.type
class ReleaseMutations:
    @mutation(description="Deploy an uploaded slug as the app's next release; with a release phase it starts PENDING.")
    async def create_release(self, info: Info, input: CreateReleaseInput) -> CreateReleasePayload:
        app = await authorized_app(info.context.access, input.app, "createRelease")
        slug = await authorized_slug(info.context.access, input.slug)
        release, jobs = await service.create_release(
            app=app, slug=slug, description=input.description or "", user=info.context.viewer
        )
        await info.context.enqueue(jobs)
        return CreateReleasePayload(release=ReleaseType.from_model(release))

    @mutation(description="Make a new release from an earlier release's slug (the history only grows).")
    async def rollback(self, info: Info, input: RollbackInput) -> RollbackPayload:
        app = await authorized_app(info.context.access, input.app, "rollback")
        release, jobs = await service.rollback(app=app, reference=str(input.version), user=info.context.viewer)
        await info.context.enqueue(jobs)
        return RollbackPayload(release=ReleaseType.from_model(release))
