"""Releases: numbered per app with no gaps, exactly one current, made under a lock on the app row."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.slugs.models import Slug


def default_description(slug: Slug) -> str:
    return f"Deploy {slug.commit[:8]}" if slug.commit else "Deploy"


def needs_release_phase(slug: Slug) -> bool:
    return bool(slug.process_types.get("release"))


async def create_release(
    *,
    app: App,
    slug: Slug,
    description: str,
    user: User | None,
    source_release: Release | None = None,
) -> Release:
    """A new release of `slug` on `app`. Without a release phase it is current at once; with one it waits."""
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
    immediate = not needs_release_phase(slug)
    async with in_transaction():
        # The row lock serializes every release into this app: versions never collide or skip.
        locked = await App.select_for_update().get(id=app.id)
        locked.release_count += 1
        await locked.save(update_fields=["release_count", "updated_at"])
        if immediate:
            await Release.filter(app_id=app.id, is_current=True).update(is_current=False)
        release = await Release.create(
            app_id=app.id,
            version=locked.release_count,
            status=ReleaseStatus.SUCCEEDED if immediate else ReleaseStatus.PENDING,
            is_current=immediate,
            slug=slug,
            description=description or default_description(slug),
            created_by=user,
            source_release=source_release,
        )
    app.release_count = locked.release_count
    return release
