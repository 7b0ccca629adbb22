"""Builds: validated and written PENDING at once; a worker job does the work (execution.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from tortoise.queryset import QuerySet

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds.buildpacks import validate_references
from pipegraph.builds.models import AppBuildpacks, Build, BuildStatus
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.text import validate_text
from pipegraph.jobs.queue import Job, JobKind
from pipegraph.settings import Settings
from pipegraph.slugs.service import normalize_checksum
from pipegraph.sources.models import Source
from pipegraph.sources.service import own_source_id

RUN_BUILD = JobKind("run_build", "build")


def build_job(build_id: int, *, retry: int = 0) -> Job:
    """The first run keeps one id (enqueueing twice runs once); a retry after a dead worker needs a fresh one,
    since arq holds the dead job's id "in progress" until its marker expires."""
    return RUN_BUILD.job(build_id, retry=retry or None)


async def app_buildpacks(app_id: int) -> list[str]:
    row = await AppBuildpacks.get_or_none(app_id=app_id)
    return [str(reference) for reference in row.buildpacks] if row else []


async def set_buildpacks(*, app: App, buildpacks: list[str]) -> list[str]:
    """Replace the app's ordered buildpack list (empty: back to detecting with the defaults)."""
    references = validate_references(buildpacks)
    await AppBuildpacks.update_or_create(defaults={"buildpacks": references}, app_id=app.id)
    return references


async def _validate_source(settings: Settings, app: App, url: str, checksum: str | None) -> str | None:
    """The checksum the build will verify, or None when the source is fetched unchecked (a client's choice)."""
    source_id = own_source_id(settings, url)
    if source_id is not None:
        source = await Source.get_or_none(id=source_id)
        if source is None:
            raise NotFound("source", source_id, field="sourceBlob.url")
        if source.checksum is None:
            raise DomainError(
                ErrorCode.SOURCE_NOT_UPLOADED,
                f"source {source.id} has no uploaded tarball yet: PUT it to its uploadUrl",
                field="sourceBlob.url",
            )
        if checksum is not None and normalize_checksum(checksum) != source.checksum:
            raise DomainError(
                ErrorCode.CHECKSUM_MISMATCH,
                f"source {source.id} is {source.checksum}, not {checksum}",
                field="sourceBlob.checksum",
            )
        return source.checksum
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError(
            ErrorCode.INVALID_SOURCE,
            f"source URL {url!r} must be an http(s) URL of a tar.gz, or the getUrl of createSource",
            field="sourceBlob.url",
        )
    return normalize_checksum(checksum) if checksum is not None else None


async def create_build(
    *,
    settings: Settings,
    app: App,
    user: User | None,
    source_url: str,
    checksum: str | None,
    version: str | None,
    buildpacks: list[str] | None,
    description: str | None = None,
) -> tuple[Build, list[Job]]:
    """A PENDING build and the job that works it, to enqueue after commit."""
    validate_text(source_url, what="source URL", field="sourceBlob.url", max_length=4096)
    if version is not None:
        validate_text(version, what="source version", field="sourceBlob.version", max_length=255)
    if description is not None:
        description = validate_text(description[:500], what="description", field="description", max_length=500)
    verified = await _validate_source(settings, app, source_url, checksum)
    references = validate_references(buildpacks) if buildpacks else []
    build = await Build.create(
        app=app,
        source_url=source_url,
        source_checksum=verified,
        source_version=version,
        source_description=description,
        buildpacks=references,
        created_by_id=user.id if user else None,
    )
    return build, [build_job(build.id)]


async def cancel_builds(app_id: int, message: str) -> tuple[bool, bool]:
    """End the app's builds that have not ended: FAILED, `message` their error. A worker building one notices
    within a second and stops its commands (builds/execution.py). (Whether any was cancelled, whether a worker may
    still be at one: its lease runs, and what it does last, its output and the app's build cache put back, must be
    waited for.)"""
    return await _cancel(Build.filter(app_id=app_id), message)


async def cancel_build(build_id: int, message: str) -> bool:
    """End this one build if it has not ended, as cancel_builds does; whether it was cancelled. One that already
    SUCCEEDED is left alone: its slug and release are made in the statement that ended it."""
    cancelled, _ = await _cancel(Build.filter(id=build_id), message)
    return cancelled


async def _cancel(builds: QuerySet[Build], message: str) -> tuple[bool, bool]:
    now = datetime.now(UTC)
    # Nobody works on a PENDING build (a worker claims it first): it just ends.
    pending = await builds.filter(status=BuildStatus.PENDING).update(
        status=BuildStatus.FAILED, error_message=message, updated_at=now
    )
    held = builds.filter(status=BuildStatus.BUILDING)
    running = await held.filter(lease_expires_at__gt=now).exists()
    building = await held.update(status=BuildStatus.FAILED, error_message=message, updated_at=now)
    return bool(pending or building), running and bool(building)
