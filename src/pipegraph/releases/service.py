"""Releases: numbered per app with no gaps, exactly one current, made under a lock on the app row.

Releases into one app never interleave: versions are handed out under the lock, and a release becomes current only
after every earlier release of its app is terminal, so the newest finished release is always the current one.

Only the app's next pending release is due (`is_due`): only it gets a job. The end of a release hands the turn to the
next one (releases/execution.py), so a later release neither holds a worker's job slot nor polls while it waits.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.relay import NO_ROW_ID, db_id, parse_ref
from pipegraph.core.text import validate_text
from pipegraph.jobs.queue import Job, JobKind
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.slugs.models import Slug

# Runs a pending release's release phase and makes it current or failed (workers/jobs.py).
RUN_RELEASE = JobKind("run_release", key="release")
# Versions are a 32-bit column: a larger number names no release, and must not reach the driver (it overflows there).
MAX_VERSION = 2**31 - 1


def default_description(slug: Slug) -> str:
    return f"Deploy {slug.commit[:8]}" if slug.commit else "Deploy"


def needs_release_phase(slug: Slug) -> bool:
    return bool(slug.process_types.get("release"))


def release_job(release: Release) -> Job:
    return RUN_RELEASE.job(release.id)


async def is_due(release: Release) -> bool:
    """A pending release whose every earlier release of the app has ended: its turn to run."""
    return not await Release.exists(app_id=release.app_id, status=ReleaseStatus.PENDING, version__lt=release.version)


async def next_in_line(app_id: int) -> Release | None:
    return await Release.filter(app_id=app_id, status=ReleaseStatus.PENDING).order_by("version").first()


async def due_releases(*, untouched_since: datetime) -> list[Release]:
    """Each app's next pending release, if it has not moved since `untouched_since` (for the reconciler)."""
    pending = await Release.filter(status=ReleaseStatus.PENDING).order_by("app_id", "version")
    firsts = {release.app_id: release for release in reversed(pending)}
    return [release for release in firsts.values() if release.updated_at < untouched_since]


async def get_release(app: App, reference: str, *, field: str = "release") -> Release:
    """A release of `app` by its version ("12" or "v12") or its global ID."""
    version = db_id(reference.strip().removeprefix("v"))
    if version != NO_ROW_ID:
        found = version <= MAX_VERSION
        release = await Release.get_or_none(app_id=app.id, version=version) if found else None
    else:
        ref = parse_ref(reference, "Release")
        release = await Release.get_or_none(app_id=app.id, id=ref.id) if ref.id is not None else None
    if release is None:
        raise NotFound(f"release of app {app.name}", reference, field=field)
    return release


async def add_release_locked(
    *,
    app_id: int,
    slug: Slug,
    description: str,
    user_id: int | None,
    source_release_id: int | None = None,
    adopt_slug_stack: bool = False,
) -> Release:
    """The next release of the app; call inside a transaction. Current at once only when nothing has to run first."""
    locked = await App.select_for_update().get(id=app_id)
    locked.release_count += 1
    update_fields = ["release_count", "updated_at"]
    if adopt_slug_stack and locked.stack != slug.stack:
        locked.stack = slug.stack  # the app runs on the stack its slug was built for
        update_fields.append("stack")
    await locked.save(update_fields=update_fields)
    earlier_pending = await Release.exists(app_id=app_id, status=ReleaseStatus.PENDING)
    immediate = not needs_release_phase(slug) and not earlier_pending
    if immediate:
        await Release.filter(app_id=app_id, is_current=True).update(is_current=False)
    return await Release.create(
        app_id=app_id,
        version=locked.release_count,
        status=ReleaseStatus.SUCCEEDED if immediate else ReleaseStatus.PENDING,
        is_current=immediate,
        slug=slug,
        description=description or default_description(slug),
        created_by_id=user_id,
        source_release_id=source_release_id,
    )


async def create_release(
    *,
    app: App,
    slug: Slug,
    description: str,
    user: User | None,
    source_release: Release | None = None,
) -> tuple[Release, list[Job]]:
    """A new release of `slug` on `app`, and the job to enqueue after commit when it still has to run."""
    if slug.app_id != app.id:
        raise DomainError(
            ErrorCode.SLUG_OF_ANOTHER_APP,
            f"slug {slug.id} belongs to another app; promote it instead",
            field="slug",
        )
    if not slug.uploaded:
        raise DomainError(
            ErrorCode.SLUG_NOT_UPLOADED,
            f"slug {slug.id} has no uploaded blob yet: PUT it to its uploadUrl",
            field="slug",
        )
    validate_text(description, what="description", field="description", max_length=500)
    async with in_transaction():
        release = await add_release_locked(
            app_id=app.id,
            slug=slug,
            description=description,
            user_id=user.id if user else None,
            source_release_id=source_release.id if source_release else None,
        )
        # Decided under the app's lock: either this release is due now, or an earlier one is pending and its end
        # will hand the turn on.
        due = release.status == ReleaseStatus.PENDING and await is_due(release)
    app.release_count = release.version
    return release, ([release_job(release)] if due else [])


async def rollback(*, app: App, reference: str, user: User | None) -> tuple[Release, list[Job]]:
    """A new release made from an earlier release's slug (Heroku's rollback): history only grows."""
    earlier = await get_release(app, reference, field="version")
    if earlier.status != ReleaseStatus.SUCCEEDED:
        raise DomainError(
            ErrorCode.RELEASE_NOT_SUCCEEDED,
            f"v{earlier.version} of {app.name} is {earlier.status.value}: roll back to a succeeded release",
            field="version",
        )
    slug = await Slug.get(id=earlier.slug_id)
    return await create_release(
        app=app, slug=slug, description=f"Rollback to v{earlier.version}", user=user, source_release=earlier
    )


async def finish_release(release_id: int, *, error_message: str | None, log: str) -> Release:
    """Make a pending release current and SUCCEEDED, or FAILED leaving the app's current release as it was."""
    release = await Release.get(id=release_id)
    async with in_transaction():
        await App.select_for_update().get(id=release.app_id)
        release = await Release.get(id=release_id)
        if release.status != ReleaseStatus.PENDING:
            return release  # a job that ran twice: the first one decided
        if error_message is None:
            await Release.filter(app_id=release.app_id, is_current=True).update(is_current=False)
            release.status, release.is_current = ReleaseStatus.SUCCEEDED, True
        else:
            release.status, release.error_message = ReleaseStatus.FAILED, error_message
        release.release_log = log
        await release.save(update_fields=["status", "is_current", "error_message", "release_log", "updated_at"])
    return release
