"""Resolver-side checks: fetch what a client named and require the right to act on it, in one call.

Something the viewer cannot see is refused exactly as if it did not exist: the same NOT_FOUND code, field and message
(naming what the client sent, never the real name behind a global ID), so a refusal cannot confirm that it exists.
Every mutation goes through the `authorized_*` family below; none refuses on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager

from pipegraph.access.policy import Access
from pipegraph.access.rules import PipelineRight
from pipegraph.access.users import seen_users
from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.relay import get_by_reference, parse_ref
from pipegraph.pipelines.models import Pipeline
from pipegraph.slugs.models import Slug
from pipegraph.teams.models import Team


@contextmanager
def unseen_as_sent(type_name: str, reference: str, field: str) -> Iterator[None]:
    """Report a NotFound raised inside with the reference the client sent, not the name found behind its ID."""
    try:
        yield
    except NotFound:
        raise NotFound(type_name.lower(), parse_ref(reference, type_name), field=field) from None


async def authorized_app(access: Access, reference: str, operation: str, *, field: str = "app") -> App:
    """The app `reference` names, if the viewer may do `operation` on it (NotFound when they cannot see it)."""
    app = await get_by_reference(App, reference, field=field)
    await require_app(access, app, operation, reference=reference, field=field)
    return app


async def require_app(access: Access, app: App, operation: str, *, reference: str, field: str = "app") -> None:
    """As authorized_app, for an app already fetched (by a service resolving a list of references)."""
    with unseen_as_sent("App", reference, field):
        await access.require(operation, app=app, field=field)


async def require_unnamed_app(
    access: Access, app: App, operation: str, *, refusal: str, refusal_field: str, field: str | None = None
) -> None:
    """Require `operation` on an app the client did not name (one a rule reached by itself): one the viewer cannot see
    is refused as FORBIDDEN with `refusal`, which must not name it."""
    try:
        await access.require(operation, app=app, field=field)
    except NotFound:
        raise DomainError(ErrorCode.FORBIDDEN, refusal, field=refusal_field) from None


async def authorized_pipeline(
    access: Access,
    reference: str,
    operation: str,
    *,
    field: str = "pipeline",
    check: Callable[[Pipeline], Awaitable[None]] | None = None,
) -> Pipeline:
    """The pipeline `reference` names, if the viewer may do `operation` on it (NotFound when they cannot see it).

    `check` replaces the rule table's check, for the one operation its table cannot express (createEphemeralApp).
    """
    pipeline = await get_by_reference(Pipeline, reference, field=field)
    with unseen_as_sent("Pipeline", reference, field):
        if check is None:
            await access.require(operation, pipeline=pipeline, field=field)
        else:
            await check(pipeline)
    return pipeline


async def authorized_team(access: Access, reference: str, operation: str | None, *, field: str = "team") -> Team:
    """The team `reference` names, if the viewer may do `operation` on it, or (None) is in it in any role.

    A team the viewer is not in is not found.
    """
    team = await get_by_reference(Team, reference, field=field)
    with unseen_as_sent("Team", reference, field):
        if operation is not None:
            await access.require(operation, team=team, field=field)
        elif await access.team_role(team.id) is None:
            raise NotFound("team", team.name, field=field)
    return team


async def authorized_slug(access: Access, reference: str, *, field: str = "slug") -> Slug:
    """A slug the viewer sees (through its app): one of an app they cannot see is not found, not "of another app"."""
    slug = await get_by_reference(Slug, reference, field=field)
    app = await App.get(id=slug.app_id)
    if not await access.can_view_app(app):
        raise NotFound("slug", reference, field=field)
    return slug


# Visibility, decided in memory from rows the caller loaded --------------------------------------------------------


async def sees_pipeline(access: Access, pipeline: Pipeline, apps: Iterable[App]) -> bool:
    """Whether the viewer sees `pipeline`, given its apps (from a loader, so no statement of its own)."""
    return PipelineRight.VIEW in await access.pipeline_rights(pipeline, apps)


async def visible(access: Access, apps: Iterable[App]) -> list[App]:
    """The apps among `apps` the viewer sees, in their order; decided in memory from the viewer's loaded rights."""
    return [app for app in apps if await access.can_view_app(app)]


async def sees_users(access: Access, user_ids: Iterable[int]) -> set[int]:
    """Which of these users the viewer sees: themselves, and the people they meet through what they see."""
    return await seen_users(access, user_ids)
