"""A build worked to its end in a worker: fetch and extract the source, run the buildpacks, pack and store the slug,
then make the slug, the release and the build's SUCCEEDED status in one transaction.

A job may run twice (arq retries, the reconciler takes over a dead worker's build): a build is claimed by one
conditional UPDATE that counts the attempt, and it ends only if that attempt still holds it, so a stale attempt can
neither release nor overwrite the outcome of a newer one: never two releases for one build.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tarfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from pipegraph.apps.models import App
from pipegraph.builds.buildpacks import DEFAULT_BUILDPACKS, BuildpackFetcher
from pipegraph.builds.fetch import fetch_source
from pipegraph.builds.log import BuildLog
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.builds.runner import Buildpack, BuildRequest
from pipegraph.builds.service import app_buildpacks
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.jobs.cancellation import until_cancelled
from pipegraph.jobs.queue import Job
from pipegraph.jobs.runtime import Runtime, build_lease_seconds
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.service import add_release_locked, release_job
from pipegraph.sandbox import Workspaces
from pipegraph.sandbox.workspace import remove_tree
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import validate_tarball
from pipegraph.sources.archive import extract_archive
from pipegraph.sources.store import LocalSourceStore

BUILD_WORKSPACES = Workspaces("pipegraph-build-")


class LostClaim(Exception):
    """Another attempt took the build over (this worker was presumed dead): leave the outcome to it."""


def utcnow() -> datetime:
    return datetime.now(UTC)


async def claim(build_id: int, *, lease: float) -> Build | None:
    """Take a PENDING build; None when another worker has it or it is done."""
    now = utcnow()
    claimed = await Build.filter(id=build_id, status=BuildStatus.PENDING).update(
        status=BuildStatus.BUILDING,
        attempts=F("attempts") + 1,
        lease_expires_at=now + timedelta(seconds=lease),
        updated_at=now,
    )
    return await Build.get(id=build_id) if claimed else None


async def run_build(build_id: int, runtime: Runtime) -> tuple[Build | None, list[Job]]:
    """The build as it ended, and the job to enqueue next (its release's release phase), if any."""
    build = await claim(build_id, lease=build_lease_seconds(runtime.settings))
    if build is None:
        return await Build.get_or_none(id=build_id), []
    log = BuildLog(runtime.redis, build.id)
    if build.attempts > 1:
        await log.line(f"-----> Building again (attempt {build.attempts}): the previous worker stopped")
    try:
        # Traversable by the sandbox's user, locked while in use, swept at worker start when a killed worker left it.
        with BUILD_WORKSPACES.new() as workdir:
            release = await until_cancelled(
                _build(build, runtime, log, workdir), partial(no_longer_held, build), what=f"build {build.id}"
            )
            if release is not None:
                # The push following the log ends now; the folder is removed after.
                await log.end(BuildStatus.SUCCEEDED)
    except LostClaim:
        return await _stopped(build, log), []
    except DomainError as error:
        if not log.lines or not log.lines[-1].startswith(" !"):
            await log.line(f" !     {error.message}")
        return await _fail(build, log, error.message), []
    if release is None:
        return await _stopped(build, log), []
    # Its release phase runs as for any release: the release's own job.
    return await Build.get(id=build.id), [release_job(release)] if release.status == ReleaseStatus.PENDING else []


async def _build(build: Build, runtime: Runtime, log: BuildLog, workdir: Path) -> Release:
    settings = runtime.settings
    app = await App.get(id=build.app_id)
    tarball = await fetch_source(
        settings=settings,
        store=LocalSourceStore(settings.source_dir),
        url=build.source_url,
        checksum=build.source_checksum,
        into=workdir,
    )
    root = await asyncio.to_thread(
        extract_archive, tarball, workdir / "source", what="source tarball", max_bytes=settings.source_max_bytes
    )
    workspace = workdir / "workspace"
    workspace.mkdir()
    build_dir = workspace / "build"
    await asyncio.to_thread(os.rename, root, build_dir)
    references = build.buildpacks or await app_buildpacks(app.id)
    fetcher = BuildpackFetcher(
        settings.build_cache_dir, max_bytes=settings.source_max_bytes, timeout=settings.fetch_timeout
    )
    resolved = [await fetcher.resolve(reference) for reference in references or DEFAULT_BUILDPACKS]
    # Copies the sandbox's user can read, whatever the folders they came from allow: bound read-only into it.
    buildpacks = tuple(await asyncio.to_thread(_readable_copies, resolved, workdir / "buildpacks"))
    request = BuildRequest(
        workspace=workspace,
        buildpacks=buildpacks,
        explicit=bool(references),
        config_vars={str(key): str(value) for key, value in app.config_vars.items()},
        stack=app.stack,
        source_version=build.source_version,
        timeout=settings.build_timeout,
    )
    app_cache = settings.build_cache_dir / "apps" / str(app.id)
    await asyncio.to_thread(_move_cache, app_cache, request.cache_dir)
    try:
        result = await runtime.build_runner.run(request, log.line)
    finally:
        await asyncio.to_thread(_move_cache, request.cache_dir, app_cache)
    build.buildpacks_used = result.buildpacks_used  # saved with the outcome, in the same statement
    if result.error_message is not None:
        raise DomainError(ErrorCode.BUILD_FAILED, result.error_message)
    await log.line("-----> Compressing...")
    blob = workdir / "slug.tar.gz"
    digest, size = await asyncio.to_thread(_pack, build_dir, blob)
    await log.line(f"       Done: {_human(size)}")
    if await runtime.slug_store.verify(digest) != digest:  # content-addressed: the same bytes are stored once
        await runtime.slug_store.put(_chunks(blob), expected_digest=digest, max_bytes=settings.slug_max_bytes)
    release = await _succeed(build, app, log, digest=digest, size=size, process_types=result.process_types)
    await log.line(_launched(release))
    return release


async def no_longer_held(build: Build) -> bool:
    """Whether this attempt lost the build: cancelled (FAILED by builds/service.py's cancel_builds: this job itself
    fails a build only once its work ended), or taken over by a newer attempt. Not when it SUCCEEDED: the work
    still has its last line to write then, and its release to hand on."""
    held = Build.filter(id=build.id, attempts=build.attempts).exclude(status=BuildStatus.FAILED)
    return not await held.exists()


async def _stopped(build: Build, log: BuildLog) -> Build:
    """This attempt no longer holds the build. Cancelled (it is FAILED, still of this attempt): its output so far and
    the reason end its log, quietly, for this is no fault. Taken over by a newer attempt: that one says the rest."""
    current = await Build.get(id=build.id)
    if current.status == BuildStatus.FAILED and current.attempts == build.attempts:
        await log.line(f" !     {current.error_message}")
        await Build.filter(id=build.id, attempts=build.attempts).update(output=log.text, lease_expires_at=None)
        await log.end(BuildStatus.FAILED)
        current = await Build.get(id=build.id)
    return current


def _launched(release: Release) -> str:
    return f"-----> Launching... done, v{release.version}"


async def _succeed(
    build: Build, app: App, log: BuildLog, *, digest: str, size: int, process_types: dict[str, str]
) -> Release:
    """The slug, the release and the build's outcome (its output with the launch line) in one transaction."""
    now = utcnow()
    async with in_transaction():
        # Still this attempt's build? Ends it in the same statement, so two attempts never both release.
        held = await Build.filter(id=build.id, status=BuildStatus.BUILDING, attempts=build.attempts).update(
            status=BuildStatus.SUCCEEDED, lease_expires_at=None, updated_at=now
        )
        if not held:
            raise LostClaim()
        slug = await Slug.create(
            app_id=app.id,
            checksum=f"SHA256:{digest}",
            size=size,
            stack=app.stack,
            process_types=process_types,
            commit=(build.source_version or "")[:64] or None,
            commit_description=build.source_description,
            uploaded_at=now,
        )
        release = await add_release_locked(app_id=app.id, slug=slug, description="", user_id=build.created_by_id)
        await Build.filter(id=build.id).update(
            slug_id=slug.id,
            release_id=release.id,
            buildpacks_used=build.buildpacks_used,
            output="\n".join([*log.lines, _launched(release)]),
        )
    return release


async def _fail(build: Build, log: BuildLog, message: str) -> Build:
    await Build.filter(id=build.id, status=BuildStatus.BUILDING, attempts=build.attempts).update(
        status=BuildStatus.FAILED,
        error_message=message,
        output=log.text,
        buildpacks_used=build.buildpacks_used,
        lease_expires_at=None,
        updated_at=utcnow(),
    )
    await log.end(BuildStatus.FAILED)
    return await Build.get(id=build.id)


def _move_cache(source: Path, target: Path) -> None:
    """The app's build cache moves into a build's workspace and back out after it: a build writes only inside its
    workspace, and two builds of one app at once never share a cache folder (the second starts without one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        target.mkdir(exist_ok=True)  # no cache yet, or another build of the app has it
        return
    if target.exists():
        remove_tree(target)  # a newer cache came back meanwhile: keep this build's
    shutil.move(source, target)  # a rename on one file system, a copy across two


def _readable_copies(buildpacks: list[Buildpack], into: Path) -> list[Buildpack]:
    copies = []
    for index, buildpack in enumerate(buildpacks):
        copy = into / str(index)
        shutil.copytree(buildpack.path, copy, symlinks=True)
        for folder, _, files in os.walk(copy):
            os.chmod(folder, 0o755)
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
        copies.append(Buildpack(name=buildpack.name, path=copy, builtin=buildpack.builtin))
    into.chmod(0o755)
    return copies


def _pack(build_dir: Path, blob: Path) -> tuple[str, int]:
    """BUILD_DIR as `./app` in a gzip tarball, checked like an uploaded slug; its SHA-256 hex and size."""
    with tarfile.open(blob, "w:gz", compresslevel=6) as tar:
        tar.add(build_dir, arcname="./app")
    validate_tarball(blob)
    hasher = hashlib.sha256()
    with blob.open("rb") as packed:
        for chunk in iter(lambda: packed.read(1024 * 1024), b""):
            hasher.update(chunk)
    return hasher.hexdigest(), blob.stat().st_size


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as blob:
        while chunk := blob.read(1024 * 1024):
            yield chunk


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "K", "M"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}G"
