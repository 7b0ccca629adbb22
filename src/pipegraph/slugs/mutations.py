from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.api.scalars import JSON
from pipegraph.slugs import service
from pipegraph.slugs.types import SlugType


@strawberry.input(description="A slug to declare before uploading its tarball.")
class CreateSlugInput:
    app: str = strawberry.field(description="App name or global ID.")
    checksum: str = strawberry.field(description="SHA256:<hex> of the tarball you will upload.")
    process_types: JSON = strawberry.field(description='e.g. {"web": "./bin/web", "release": "./bin/migrate"}')
    stack: str | None = strawberry.field(default=None, description="Defaults to the app's stack.")
    commit: str | None = strawberry.field(
        default=None, description="The source commit the slug was built from, if known."
    )
    commit_description: str | None = strawberry.field(default=None, description="The commit's message, if known.")


@strawberry.type(description="The result of createSlug: the slug, and where to upload its tarball.")
class CreateSlugPayload(Payload):
    slug: SlugType | None = strawberry.field(
        default=None, description="The declared slug, not uploaded yet; null if refused."
    )
    upload_url: str | None = strawberry.field(
        default=None, description="PUT the tar.gz here once (no token needed; it expires)."
    )


@strawberry.type
class SlugMutations:
    @mutation(description="Declare a slug; then PUT its tarball to `uploadUrl`.")
    async def create_slug(
        self,
        info: Info,
        input: Annotated[CreateSlugInput, strawberry.argument(description="Parameters for createSlug.")],
    ) -> CreateSlugPayload:
        app = await authorized_app(info.context.access, input.app, "createSlug")
        slug = await service.create_slug(
            app=app,
            checksum=input.checksum,
            process_types=input.process_types if isinstance(input.process_types, dict) else {},
            stack=input.stack,
            commit=input.commit,
            commit_description=input.commit_description,
        )
        settings = info.context.settings
        url = service.upload_url(
            public_url=settings.public_url,
            secret_key=settings.secret_key,
            slug_id=slug.id,
            ttl=settings.upload_url_ttl,
        )
        return CreateSlugPayload(slug=SlugType.from_model(slug), upload_url=url)
