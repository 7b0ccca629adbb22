"""Which users a viewer sees: the people they meet through something they see (VISIBILITY["User"]).

As on Heroku, whoever sees an app sees its owner, its collaborators and who released to or built it, and whoever sees a
pipeline sees its owner, who promoted or started a test run in it and who took part in its transfers. Every field
that returns a user shows one of these through an object the viewer already sees, so `node(id:)` and nested fields
agree by this rule alone. Each relation is one statement, asked only about the users no earlier one showed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tortoise.expressions import Q, Subquery

from pipegraph.access.policy import Access
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.builds.models import Build
from pipegraph.ci.models import TestRun
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, PipelineTransfer
from pipegraph.promotions.models import Promotion
from pipegraph.releases.models import Release
from pipegraph.teams.models import TeamMembership

Relation = Callable[[Access, set[int]], Awaitable[Iterable[Any]]]


async def _teammates(access: Access, users: set[int]) -> Iterable[Any]:
    teams = await access.team_ids()
    return await TeamMembership.filter(user_id__in=users, team_id__in=teams or [-1]).values_list("user_id", flat=True)


async def _app_owners(access: Access, users: set[int]) -> Iterable[Any]:
    # A team's app shows the team as its owner: the user who created it is not met through it.
    return await App.filter(await access.visible_apps(), team_id=None, owner_id__in=users).values_list(
        "owner_id", flat=True
    )


async def _app_collaborators(access: Access, users: set[int]) -> Iterable[Any]:
    apps = Subquery(App.filter(await access.visible_apps()).values("id"))
    return await AppCollaborator.filter(user_id__in=users, app_id__in=apps).values_list("user_id", flat=True)


async def _releasers(access: Access, users: set[int]) -> Iterable[Any]:
    apps = Subquery(App.filter(await access.visible_apps()).values("id"))
    return await Release.filter(created_by_id__in=users, app_id__in=apps).values_list("created_by_id", flat=True)


async def _builders(access: Access, users: set[int]) -> Iterable[Any]:
    apps = Subquery(App.filter(await access.visible_apps()).values("id"))
    return await Build.filter(created_by_id__in=users, app_id__in=apps).values_list("created_by_id", flat=True)


async def _pipeline_owners(access: Access, users: set[int]) -> Iterable[Any]:
    return await Pipeline.filter(await access.visible_pipelines(), team_id=None, owner_id__in=users).values_list(
        "owner_id", flat=True
    )


async def _promoters(access: Access, users: set[int]) -> Iterable[Any]:
    pipelines = Subquery(Pipeline.filter(await access.visible_pipelines()).values("id"))
    return await Promotion.filter(created_by_id__in=users, pipeline_id__in=pipelines).values_list(
        "created_by_id", flat=True
    )


async def _testers(access: Access, users: set[int]) -> Iterable[Any]:
    pipelines = Subquery(Pipeline.filter(await access.visible_pipelines()).values("id"))
    return await TestRun.filter(actor_id__in=users, pipeline_id__in=pipelines).values_list("actor_id", flat=True)


async def _transfer_parties(access: Access, users: set[int]) -> Iterable[Any]:
    pipelines = Subquery(Pipeline.filter(await access.visible_pipelines()).values("id"))
    parties = Q(transferred_by_id__in=users) | Q(previous_owner_user_id__in=users) | Q(new_owner_user_id__in=users)
    rows = await PipelineTransfer.filter(parties, pipeline_id__in=pipelines).values_list(
        "transferred_by_id", "previous_owner_user_id", "new_owner_user_id"
    )
    return [user for row in rows for user in row]


async def _grantees(access: Access, users: set[int]) -> Iterable[Any]:
    # Grants show on the pipeline's access tab, which only its members see.
    pipelines = Subquery(Pipeline.filter(await access.member_pipelines()).values("id"))
    return await PipelineAccessGrant.filter(user_id__in=users, pipeline_id__in=pipelines).values_list(
        "user_id", flat=True
    )


RELATIONS: tuple[Relation, ...] = (
    _teammates,
    _app_owners,
    _app_collaborators,
    _releasers,
    _builders,
    _pipeline_owners,
    _promoters,
    _testers,
    _transfer_parties,
    _grantees,
)


async def seen_users(access: Access, user_ids: Iterable[int]) -> set[int]:
    """Which of these users the viewer sees: themselves, and the people they meet through what they see."""
    wanted = set(user_ids)
    seen = wanted & {access.viewer.id}
    for relation in RELATIONS:
        rest = wanted - seen
        if not rest:
            break
        seen |= {int(user) for user in await relation(access, rest) if user is not None and int(user) in rest}
    return seen
