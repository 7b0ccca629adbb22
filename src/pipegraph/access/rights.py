"""The viewer's rights as a value: shared by Access (the resolvers), the compiled reads and the rights read along
with a request's credential (access/preload.py), so that none of them has a rule of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from pipegraph.access.rules import TEAM_ROLE_APP_PERMISSIONS, Permission, PipelineRight
from pipegraph.teams.models import TeamRole


class OwnedApp(Protocol):
    """What the app rule reads of an app: a model, or a row the compiled reads fetched (pipegraph.reads)."""

    id: int
    owner_id: int
    team_id: int | None
    ephemeral: bool


class OwnedPipeline(Protocol):
    id: int
    owner_id: int
    team_id: int | None


@dataclass(frozen=True)
class Rights:
    """The viewer's team roles, app grants and pipeline access, and the rules over them as plain functions: the
    resolvers (through Access) and the compiled reads decide who sees what with the same code, in memory, without a
    statement."""

    viewer_id: int
    roles: dict[int, TeamRole]
    grants: dict[int, frozenset[Permission]]
    # The pipelines whose Access tab grants the viewer anything: each lets them see the pipeline (its review apps,
    # pull requests and tests), not the apps they have no permission on.
    pipeline_access: frozenset[int] = frozenset()

    @cached_property
    def key(self) -> tuple[object, ...]:
        """Equal for equal rights: who shares a subscription event's result (api/event_results.py). The viewer's id is
        part of it, since personal apps and pipelines are seen by their owner alone."""
        return (self.viewer_id, frozenset(self.roles.items()), frozenset(self.grants.items()), self.pipeline_access)

    def app_permissions(self, app: OwnedApp) -> frozenset[Permission]:
        if app.team_id is None:
            owned = TEAM_ROLE_APP_PERMISSIONS[TeamRole.ADMIN] if app.owner_id == self.viewer_id else frozenset()
        else:
            role = self.roles.get(app.team_id)
            if app.ephemeral and role != TeamRole.ADMIN:
                role = None  # on review and CI apps, members have what the pipeline access gave them at creation
            owned = TEAM_ROLE_APP_PERMISSIONS[role] if role else frozenset()
        permissions = owned | self.grants.get(app.id, frozenset())
        # As on Heroku, any permission includes view: a deploy-only collaborator sees (and promotes from) the app.
        return permissions | {Permission.VIEW} if permissions else permissions

    def can_view_app(self, app: OwnedApp) -> bool:
        """VIEW in app_permissions(app), without building the set: any permission includes view, so the app is seen
        when the viewer's ownership, team role or grant gives any (checked for every app of a large read)."""
        if app.team_id is None:
            if app.owner_id == self.viewer_id and TEAM_ROLE_APP_PERMISSIONS[TeamRole.ADMIN]:
                return True
        else:
            role = self.roles.get(app.team_id)
            if app.ephemeral and role != TeamRole.ADMIN:
                role = None  # as in app_permissions
            if role and TEAM_ROLE_APP_PERMISSIONS[role]:
                return True
        return bool(self.grants.get(app.id))

    def in_team(self, team_id: int) -> bool:
        """Whether the viewer is in the team, in any role: who sees it (a `Team` node, its roster)."""
        return self.roles.get(team_id) is not None

    def pipeline_rights(self, pipeline: OwnedPipeline, apps: Iterable[OwnedApp] = ()) -> frozenset[PipelineRight]:
        """The viewer's rights on a pipeline; its apps (all of them, seen or not) decide VIEW through app access, and so
        does a grant of its Access tab."""
        if pipeline.team_id is None:
            role = TeamRole.ADMIN if pipeline.owner_id == self.viewer_id else None
        else:
            role = self.roles.get(pipeline.team_id)
        rights: set[PipelineRight] = set()
        if role == TeamRole.ADMIN:
            rights |= {PipelineRight.ADMIN, PipelineRight.MEMBER, PipelineRight.VIEW}
        elif role == TeamRole.MEMBER:
            rights |= {PipelineRight.MEMBER, PipelineRight.VIEW}
        if PipelineRight.VIEW not in rights and (
            pipeline.id in self.pipeline_access or any(self.can_view_app(app) for app in apps)
        ):
            rights.add(PipelineRight.VIEW)
        return frozenset(rights)
