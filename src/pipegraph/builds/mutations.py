from __future__ import annotations

from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.apps.types import AppType
from pipegraph.builds import service
from pipegraph.builds.types import BuildType
from pipegraph.sources import service as sources


@strawberry.input(description="Where a build's source tarball is fetched from, as Heroku's source_blob.")
class SourceBlobInput:
    url: str = strawberry.field(description="An http(s) URL of a tar.gz of the source, or createSource's getUrl.")
    checksum: str | None = strawberry.field(default=None, description="SHA256:<hex>; the fetched bytes must match.")
    version: str | None = strawberry.field(default=None, description="The commit or version it is built from.")


@strawberry.input(description="Parameters for createBuild.")
class CreateBuildInput:
    app: str = strawberry.field(description="App name or global ID.")
    source_blob: SourceBlobInput = strawberry.field(description="The source tarball to build.")
    buildpacks: list[str] | None = strawberry.field(
        default=None, description="Buildpacks for this build only; default: the app's (setBuildpacks), else detect."
    )


@strawberry.type(description="The result of createBuild.")
class CreateBuildPayload(Payload):
    build: BuildType | None = strawberry.field(default=None, description="The new build, PENDING.")


@strawberry.input(description="Parameters for createSource.")
class CreateSourceInput:
    app: str = strawberry.field(description="App name or global ID.")


@strawberry.type(description="The result of createSource.")
class CreateSourcePayload(Payload):
    upload_url: str | None = strawberry.field(default=None, description="PUT the tar.gz here once (no token needed).")
    get_url: str | None = strawberry.field(default=None, description="Pass it to createBuild as sourceBlob.url.")


@strawberry.input(description="Parameters for setBuildpacks.")
class SetBuildpacksInput:
    app: str = strawberry.field(description="App name or global ID.")
    buildpacks: list[str] = strawberry.field(
        description="In order: `procfile`, an absolute folder, a .tgz URL or a git URL (…#ref). Empty: detect."
    )


@strawberry.type(description="The result of setBuildpacks.")
class SetBuildpacksPayload(Payload):
    app: AppType | None = strawberry.field(default=None, description="The app.")
    buildpacks: list[str] = strawberry.field(default_factory=list, description="Its buildpacks now, in order.")


@strawberry.type
class BuildMutations:
    @mutation(description="Build a source tarball into a slug and release it; answers at once, PENDING.")
    async def create_build(
        self,
        info: Info,
        input: Annotated[CreateBuildInput, strawberry.argument(description="Parameters for createBuild.")],
    ) -> CreateBuildPayload:
        app = await authorized_app(info.context.access, input.app, "createBuild")
        build, jobs = await service.create_build(
            settings=info.context.settings,
            app=app,
            user=info.context.viewer,
            source_url=input.source_blob.url,
            checksum=input.source_blob.checksum,
            version=input.source_blob.version,
            buildpacks=input.buildpacks,
        )
        await info.context.enqueue(jobs)
        return CreateBuildPayload(build=BuildType.from_model(build))

    @mutation(description="A place to upload a source tarball (Heroku's /sources): PUT it to uploadUrl.")
    async def create_source(
        self,
        info: Info,
        input: Annotated[CreateSourceInput, strawberry.argument(description="Parameters for createSource.")],
    ) -> CreateSourcePayload:
        app = await authorized_app(info.context.access, input.app, "createSource")
        source = await sources.create_source(app=app, user=info.context.viewer)
        settings = info.context.settings
        return CreateSourcePayload(
            upload_url=sources.upload_url(settings, source), get_url=sources.get_url(settings, source)
        )

    @mutation(description="Set the app's ordered buildpacks (Heroku's buildpacks:set).")
    async def set_buildpacks(
        self,
        info: Info,
        input: Annotated[SetBuildpacksInput, strawberry.argument(description="Parameters for setBuildpacks.")],
    ) -> SetBuildpacksPayload:
        app = await authorized_app(info.context.access, input.app, "setBuildpacks")
        buildpacks = await service.set_buildpacks(app=app, buildpacks=input.buildpacks)
        return SetBuildpacksPayload(app=AppType.from_model(app), buildpacks=buildpacks)
