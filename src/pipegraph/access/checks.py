"""Resolver-side checks: fetch what a client named and require the right to act on it, in one call.

Something the viewer cannot see is refused exactly as if it did not exist: the same NOT_FOUND code, field and message
(naming what the client sent, never the real name behind a global ID), so a refusal cannot confirm that it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import strawberry
from tortoise.expressions import Subquery

from pipegraph.access.policy import Access
from pipegraph.access.rules import PipelineRight
from pipegraph.apps.models import App
from pipegraph.apps.service import get_app
from pipegraph.core.errors import NotFound
from pipegraph.core.relay import parse_ref
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.service import get_pipeline
from pipegraph.slugs.models import Slug
from pipegraph.slugs.service import get_slug
from pipegraph.teams.models import TeamMembership

if TYPE_CHECKING:
    from pipegraph.api.context import Context


async def authorized_app(access: Access, reference: str, operation: str, *, field: str = "app") -> App:
    """The app `reference` names, if the viewer may do `operation` on it (NotFound when they cannot see it)."""
    app = await get_app(reference, field=field)
    await require_app(access, app, operation, reference=reference, field=field)
    return app


async def require_app(access: Access, app: App, operation: str, *, reference: str, field: str = "app") -> None:
    try:
        await access.require(operation, app=app, field=field)
    except NotFound:
        raise NotFound("app", parse_ref(reference, "App"), field=field) from None


async def authorized_pipeline(access: Access, reference: str, operation: str, *, field: str = "pipeline") -> Pipeline:
    """The pipeline `reference` names, if the viewer may do `operation` on it (NotFound when they cannot see it)."""
    pipeline = await get_pipeline(reference, field=field)
    try:
        await access.require(operation, pipeline=pipeline, field=field)
    except NotFound:
        raise NotFound("pipeline", parse_ref(reference, "Pipeline"), field=field) from None
    return pipeline


async def sees_pipeline(access: Access, pipeline: Pipeline, apps: Iterable[App]) -> bool:
    """Whether the viewer sees `pipeline`, given its apps (from a loader, so no statement of its own)."""
    return PipelineRight.VIEW in await access.pipeline_rights(pipeline, apps)


async def visible(access: Access, apps: Iterable[App]) -> list[App]:
    """The apps among `apps` the viewer sees, in their order; decided in memory from the viewer's loaded rights."""
    return [app for app in apps if await access.can_view_app(app)]


async def authorized_slug(access: Access, reference: str, *, field: str = "slug") -> Slug:
    """A slug the viewer sees (through its app): one of an app they cannot see is not found, not "of another app"."""
    slug = await get_slug(reference, field=field)
    app = await App.get(id=slug.app_id)
    if not await access.can_view_app(app):
        raise NotFound("slug", reference, field=field)
    return slug


async def sees_apps(info: strawberry.Info[Context, None], app_ids: Iterable[int]) -> set[int]:
    """Which of these apps the viewer sees, loaded through the request's loader (one batched statement at most)."""
    apps = await info.context.loaders.app_by_id.load_many(list(set(app_ids)))
    return {app.id for app in apps if app is not None and await info.context.access.can_view_app(app)}


async def sees_users(access: Access, user_ids: Iterable[int]) -> set[int]:
    """Which of these users the viewer sees: themselves, and whoever shares a team with them (one statement)."""
    wanted = set(user_ids)
    others = wanted - {access.viewer.id}
    seen = wanted & {access.viewer.id}
    if others:
        viewer_teams = TeamMembership.filter(user_id=access.viewer.id).values("team_id")
        teammates = await TeamMembership.filter(user_id__in=others, team_id__in=Subquery(viewer_teams)).values_list(
            "user_id", flat=True
        )
        seen |= {int(user_id) for user_id in teammates}  # type: ignore[call-overload]
    return seen
