"""A commit of a connected repository built on an app: GitHub's tarball of it stored as a `Source`, then a build
that names it (the build then runs as any other: builds/execution.py)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds import service as builds
from pipegraph.builds.models import Build
from pipegraph.github.client import GitHubClient
from pipegraph.jobs.queue import Job
from pipegraph.settings import Settings
from pipegraph.sources import service as sources
from pipegraph.sources.models import Source
from pipegraph.sources.store import LocalSourceStore


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as blob:
        while chunk := blob.read(1024 * 1024):
            yield chunk


async def fetch_commit_source(
    settings: Settings, *, app: App, full_name: str, sha: str, user_id: int | None = None
) -> tuple[Source, Path]:
    """GitHub's tarball of `sha` stored as a source of `app`, and the stored file's path (to read app.json from)."""
    store = LocalSourceStore(settings.source_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="github-tarball-") as folder:
        async with GitHubClient.for_repository(settings.github, full_name) as github:
            tarball = await github.commit_tarball(
                sha, Path(folder) / "source.tar.gz", max_bytes=settings.source_max_bytes
            )
        digest, size = await store.put(_chunks(tarball), max_bytes=settings.source_max_bytes)
    source = await Source.create(
        app_id=app.id, created_by_id=user_id, checksum=f"SHA256:{digest}", size=size, uploaded_at=datetime.now(UTC)
    )
    return source, store.path_for(digest)


async def build_source(
    settings: Settings,
    *,
    app: App,
    source: Source,
    sha: str,
    description: str | None,
    user_id: int | None = None,
    buildpacks: list[str] | None = None,
) -> tuple[Build, list[Job]]:
    """A PENDING build of a stored source, and its job."""
    # A worker names the source by path and signature, whatever host the URL carries.
    here = replace(settings, public_url=settings.public_url or "http://pipegraph.invalid")
    async with in_transaction():
        return await builds.create_build(
            settings=settings,
            app=app,
            user=None if user_id is None else await User.get_or_none(id=user_id),
            source_url=sources.get_url(here, source),
            checksum=source.checksum,
            version=sha,
            buildpacks=buildpacks,
            description=description,
        )
