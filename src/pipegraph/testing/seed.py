"""Seed a pipeline graph of any size quickly, for the query-cost test and the read benchmark.

Apps, pipelines and couplings go through the services (so the names and couplings obey the same rules as the API);
slugs and releases are bulk-inserted, since thousands of releases one `create_release` at a time (a locked
read-modify-write each) would take far longer than the reads they exist to measure. The bulk rows keep the service's
invariants: versions 1..n with no gap, exactly one current release per app, `release_count` equal to the last version.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.apps.service import create_app
from pipegraph.pipelines.service import USER_STAGES, add_app, create_pipeline
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import SlugStore

DASHBOARD_PIPELINE = "shop"
PROCESS_TYPES = {"web": "./bin/web"}


@dataclass(frozen=True)
class GraphShape:
    pipelines: int
    apps_per_stage: int  # in each of the four user stages
    releases_per_app: int

    def pipeline_names(self) -> list[str]:
        # The first is the one the dashboard reads; the others sort after it, as `pipelines` lists them.
        return [DASHBOARD_PIPELINE] + [f"{DASHBOARD_PIPELINE}-{number:02d}" for number in range(2, self.pipelines + 1)]


SMALL = GraphShape(pipelines=1, apps_per_stage=1, releases_per_app=1)
LARGE = GraphShape(pipelines=20, apps_per_stage=5, releases_per_app=10)


def slug_tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"#!/bin/sh\necho web\n"
        info = tarfile.TarInfo("./app/bin/web")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def commit_of(app_name: str, version: int) -> str:
    return hashlib.sha1(f"{app_name}@{version}".encode()).hexdigest()


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def seed_graph(shape: GraphShape, *, owner: User, store: SlugStore, stack: str = "heroku-24") -> None:
    """Pipelines × four stages × apps × releases, every app running its newest release."""
    # Every slug shares one blob: blobs are content-addressed, so identical bytes are one stored file anyway.
    blob = slug_tarball()
    digest = hashlib.sha256(blob).hexdigest()
    await store.put(_one_chunk(blob), expected_digest=digest, max_bytes=len(blob))

    # One transaction: thousands of autocommitted inserts would each wait for their own sync to disk.
    async with in_transaction():
        apps: list[App] = []
        for pipeline_name in shape.pipeline_names():
            pipeline = None
            for stage in USER_STAGES:
                for number in range(1, shape.apps_per_stage + 1):
                    name = f"{pipeline_name}-{stage.value[:3]}-{number}"
                    app = await create_app(owner=owner, name=name, stack=stack, default_stack=stack)
                    apps.append(app)
                    if pipeline is None:
                        pipeline, _ = await create_pipeline(owner=owner, name=pipeline_name, app=app, stage=stage)
                    else:
                        await add_app(pipeline, app, stage)

        uploaded_at = datetime.now(UTC)
        versions = range(1, shape.releases_per_app + 1)
        await Slug.bulk_create(
            Slug(
                app_id=app.id,
                checksum=f"SHA256:{digest}",
                size=len(blob),
                stack=stack,
                process_types=PROCESS_TYPES,
                commit=commit_of(app.name, version),
                commit_description=f"Change {version} of {app.name}",
                uploaded_at=uploaded_at,
            )
            for app in apps
            for version in versions
        )
        # bulk_create does not report the new ids: read them back by (app, commit).
        slug_ids = {
            (app_id, commit): slug_id
            for slug_id, app_id, commit in await Slug.filter(app_id__in=[app.id for app in apps]).values_list(
                "id", "app_id", "commit"
            )
        }
        await Release.bulk_create(
            Release(
                app_id=app.id,
                version=version,
                status=ReleaseStatus.SUCCEEDED,
                is_current=version == shape.releases_per_app,
                slug_id=slug_ids[(app.id, commit_of(app.name, version))],
                description=f"Deploy {commit_of(app.name, version)[:8]}",
                created_by_id=owner.id,
            )
            for app in apps
            for version in versions
        )
        await App.filter(id__in=[app.id for app in apps]).update(release_count=shape.releases_per_app)
