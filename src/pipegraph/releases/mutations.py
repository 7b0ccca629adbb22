from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app, authorized_slug
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.releases import service
from pipegraph.releases.types import ReleaseType


@strawberry.input(description="An uploaded slug to release on its app.")
class CreateReleaseInput:
    app: str = strawberry.field(description="App name or global ID.")
    slug: strawberry.ID = strawberry.field(description="Global ID of an uploaded slug of this app.")
    description: str | None = strawberry.field(
        default=None,
        description="What the release is, for people reading the history. Defaults to one naming the slug.",
    )


@strawberry.type(description="The result of createRelease.")
class CreateReleasePayload(Payload):
    release: ReleaseType | None = strawberry.field(
        default=None, description="The new release (PENDING while its release phase runs); null if refused."
    )


@strawberry.input(description="An app and the earlier release to go back to.")
class RollbackInput:
    app: str = strawberry.field(description="App name or global ID.")
    version: int = strawberry.field(description="The earlier succeeded release whose slug to release again.")


@strawberry.type(description="The result of rollback.")
class RollbackPayload(Payload):
    release: ReleaseType | None = strawberry.field(
        default=None, description="The new release of the earlier slug; null if refused."
    )


@strawberry.type
class ReleaseMutations:
    @mutation(description="Deploy an uploaded slug as the app's next release; with a release phase it starts PENDING.")
    async def create_release(
        self,
        info: Info,
        input: Annotated[CreateReleaseInput, strawberry.argument(description="Parameters for createRelease.")],
    ) -> CreateReleasePayload:
        app = await authorized_app(info.context.access, input.app, "createRelease")
        slug = await authorized_slug(info.context.access, input.slug)
        release, jobs = await service.create_release(
            app=app, slug=slug, description=input.description or "", user=info.context.viewer
        )
        await info.context.enqueue(jobs)
        return CreateReleasePayload(release=ReleaseType.from_model(release))

    @mutation(description="Make a new release from an earlier release's slug (the history only grows).")
    async def rollback(
        self, info: Info, input: Annotated[RollbackInput, strawberry.argument(description="Parameters for rollback.")]
    ) -> RollbackPayload:
        app = await authorized_app(info.context.access, input.app, "rollback")
        release, jobs = await service.rollback(app=app, reference=str(input.version), user=info.context.viewer)
        await info.context.enqueue(jobs)
        return RollbackPayload(release=ReleaseType.from_model(release))
