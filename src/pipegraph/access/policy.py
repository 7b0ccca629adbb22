"""The viewer's rights, computed per request from two small look-ups (team roles and app grants)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from tortoise.expressions import Q, Subquery

from pipegraph.access.rights import OwnedApp, Rights
from pipegraph.access.rules import (
    EPHEMERAL_RULES,
    RULES,
    Permission,
    PipelineRight,
    TeamRight,
    ephemeral_allows,
)
from pipegraph.accounts.models import User
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, PipelineCoupling
from pipegraph.teams.models import Team, TeamMembership, TeamRole

_FULL_MEMBERS = (TeamRole.ADMIN, TeamRole.MEMBER)


async def read_rights(user_id: int) -> Rights:
    """A user's team roles, app grants and pipeline access, as the database has them now."""
    memberships = await TeamMembership.filter(user_id=user_id)
    collaborations = await AppCollaborator.filter(user_id=user_id)
    accesses = await PipelineAccessGrant.filter(user_id=user_id).only("id", "pipeline_id")
    roles = {membership.team_id: membership.role for membership in memberships}
    grants = {
        grant.app_id: frozenset(Permission(permission) for permission in grant.permissions) for grant in collaborations
    }
    return Rights(user_id, roles, grants, frozenset(access.pipeline_id for access in accesses))


class Access:
    """Answers "may the viewer …?" for one request; loads the viewer's roles and grants once, on first use."""

    def __init__(
        self,
        viewer: User,
        *,
        rights: Rights | None = None,
        shared: Callable[[User], Awaitable[Rights]] | None = None,
    ) -> None:
        """`rights`: the viewer's, read along with the request's credential (a query's only: access/preload.py).
        `shared`: where a WebSocket's operations get them instead of the database (api/live_access.py)."""
        self.viewer = viewer
        self._preloaded = rights
        self._shared = shared
        # Sibling resolvers ask at once: they all await the one load, and all resume together when it is done, so
        # the rows are read once and the DataLoader batches that follow are not split across event-loop turns.
        self._rights: asyncio.Future[Rights] | None = None

    async def rights(self) -> Rights:
        """The viewer's roles and grants: as read with the request's credential, or else read once per request."""
        if self._preloaded is not None:
            return self._preloaded
        if self._rights is None or (self._rights.done() and self._rights.exception() is not None):
            self._rights = asyncio.ensure_future(self._fetch())
        return await self._rights

    async def _fetch(self) -> Rights:
        if self._shared is not None:
            return await self._shared(self.viewer)
        return await read_rights(self.viewer.id)

    async def team_role(self, team_id: int) -> TeamRole | None:
        return (await self.rights()).roles.get(team_id)

    async def team_ids(self) -> list[int]:
        """The viewer's teams, in any role (collaborators too)."""
        return list((await self.rights()).roles)

    async def full_member_team_ids(self) -> list[int]:
        roles = (await self.rights()).roles
        return [team_id for team_id, role in roles.items() if role in _FULL_MEMBERS]

    # Apps ---------------------------------------------------------------------------------------------------

    async def app_permissions(self, app: OwnedApp) -> frozenset[Permission]:
        return (await self.rights()).app_permissions(app)

    async def can_view_app(self, app: OwnedApp) -> bool:
        return (await self.rights()).can_view_app(app)

    async def visible_apps(self) -> Q:
        """A filter on App for the apps the viewer sees, for list queries."""
        rights = await self.rights()
        roles, grants = rights.roles, rights.grants
        return (
            Q(team_id=None, owner_id=self.viewer.id)
            | Q(team_id__in=[team for team, role in roles.items() if role == TeamRole.ADMIN] or [-1])
            | Q(team_id__in=[team for team, role in roles.items() if role == TeamRole.MEMBER] or [-1], ephemeral=False)
            | Q(id__in=list(grants) or [-1])
        )

    # Pipelines ----------------------------------------------------------------------------------------------

    async def pipeline_rights(self, pipeline: Pipeline, apps: Iterable[App] = ()) -> frozenset[PipelineRight]:
        """The viewer's rights on a pipeline; pass its apps (from a loader) to decide VIEW through app access."""
        return (await self.rights()).pipeline_rights(pipeline, apps)

    async def pipeline_apps(self, pipeline: Pipeline) -> list[App]:
        couplings = await PipelineCoupling.filter(pipeline_id=pipeline.id).select_related("app")
        return [coupling.app for coupling in couplings]

    async def visible_pipelines(self) -> Q:
        """A filter on Pipeline for the pipelines the viewer sees, for list queries."""
        seen_apps = App.filter(await self.visible_apps()).values("id")
        through_apps = PipelineCoupling.filter(app_id__in=Subquery(seen_apps)).values("pipeline_id")
        granted = list((await self.rights()).pipeline_access) or [-1]
        return await self.member_pipelines() | Q(id__in=Subquery(through_apps)) | Q(id__in=granted)

    async def member_pipelines(self) -> Q:
        """A filter on Pipeline for those the viewer works in (MEMBER): its personal owner, or in its team as more
        than a collaborator."""
        return Q(team_id=None, owner_id=self.viewer.id) | Q(team_id__in=await self.full_member_team_ids() or [-1])

    # Checks -------------------------------------------------------------------------------------------------

    async def require(
        self,
        operation: str,
        *,
        app: App | None = None,
        pipeline: Pipeline | None = None,
        team: Team | None = None,
        field: str | None = None,
    ) -> None:
        """Raise unless the viewer may do `operation` (a key of RULES) on the objects it names."""
        rule = RULES[operation]
        if app is not None and rule.app is not None:
            permissions = await self.app_permissions(app)
            if not permissions:
                raise NotFound("app", app.name, field=field or "app")
            ephemeral_action = EPHEMERAL_RULES.get(operation) if app.ephemeral else None
            if ephemeral_action is not None:
                if not ephemeral_allows(permissions, ephemeral_action):
                    raise DomainError(
                        ErrorCode.FORBIDDEN,
                        f"{operation} on ephemeral app {app.name} needs pipeline access allowing {ephemeral_action}",
                        field=field or "app",
                    )
            elif rule.app not in permissions:
                raise DomainError(
                    ErrorCode.FORBIDDEN,
                    f"{operation} needs the {rule.app.value} permission on app {app.name}",
                    field=field or "app",
                )
        if pipeline is not None and rule.pipeline is not None:
            rights = await self.pipeline_rights(pipeline, await self.pipeline_apps(pipeline))
            if PipelineRight.VIEW not in rights:
                raise NotFound("pipeline", pipeline.name, field=field or "pipeline")
            if rule.pipeline not in rights:
                who = "its owner or an admin of its team" if rule.pipeline == PipelineRight.ADMIN else "a team member"
                message = f"{operation} on pipeline {pipeline.name} is for {who}"
                raise DomainError(ErrorCode.FORBIDDEN, message, field=field or "pipeline")
        if team is not None and rule.team is not None:
            role = await self.team_role(team.id)
            if role is None:
                raise NotFound("team", team.name, field=field or "team")
            allowed = role == TeamRole.ADMIN or (rule.team == TeamRight.MEMBER and role == TeamRole.MEMBER)
            if not allowed:
                raise DomainError(
                    ErrorCode.FORBIDDEN,
                    f"{operation} needs the {rule.team.value} role in team {team.name}",
                    field=field or "team",
                )
