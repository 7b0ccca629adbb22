from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from pipegraph.access.models import AppCollaborator, Permission, PipelineAccessGrant, PipelineTransfer
from pipegraph.access.rules import PipelineRight
from pipegraph.access.service import STATIC_AUTO_JOIN, EphemeralKind
from pipegraph.accounts.types import Owner, UserType, load_owner
from pipegraph.api.context import Context
from pipegraph.apps.models import App
from pipegraph.pipelines.models import Pipeline
from pipegraph.teams.models import TeamKind

PermissionEnum = strawberry.enum(
    Permission, name="Permission", description="Heroku's app permissions; on the pipeline access tab, what they allow."
)
EphemeralKindEnum = strawberry.enum(
    EphemeralKind, name="EphemeralAppKind", description="REVIEW apps sit in the review stage, CI apps in test."
)


def _permissions(stored: list[str]) -> list[Permission]:
    return [Permission(permission) for permission in stored]


async def _user(info: strawberry.Info[Context, None], user_id: int) -> UserType:
    user = await info.context.loaders.user_by_id.load(user_id)
    assert user is not None  # rows naming a user cascade away with it
    return UserType.from_model(user)


@strawberry.type(name="Collaborator", description="A user given permissions on an app.")
class CollaboratorType:
    permissions: list[Permission]
    user_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: strawberry.Info[Context, None]) -> UserType:
        return await _user(info, self.user_id)

    @classmethod
    def from_model(cls, row: AppCollaborator | PipelineAccessGrant) -> CollaboratorType:
        return cls(permissions=_permissions(row.permissions), user_id=row.user_id)


@strawberry.type(name="PipelineAccess", description="Who gets what on review and CI apps created from now on.")
class PipelineAccessType:
    auto_join: bool = strawberry.field(description="Team members join new review and CI apps (team pipelines only).")
    auto_join_permissions: list[Permission]
    pipeline_id: strawberry.Private[int]

    @strawberry.field(description="Users granted access by hand, by email.")
    async def grants(self, info: strawberry.Info[Context, None]) -> list[CollaboratorType]:
        rows = await info.context.loaders.grants_by_pipeline.load(self.pipeline_id)
        return [CollaboratorType.from_model(row) for row in sorted(rows, key=lambda row: row.user.email)]


@strawberry.type(name="PipelineTransfer", description="One change of a pipeline's owner.")
class PipelineTransferType:
    created_at: datetime
    row: strawberry.Private[PipelineTransfer]

    @strawberry.field
    async def previous_owner(self, info: strawberry.Info[Context, None]) -> Owner | None:
        return await _owner(info, self.row.previous_owner_user_id, self.row.previous_owner_team_id)

    @strawberry.field
    async def new_owner(self, info: strawberry.Info[Context, None]) -> Owner | None:
        return await _owner(info, self.row.new_owner_user_id, self.row.new_owner_team_id)

    @strawberry.field(description="Null once that user is gone.")
    async def transferred_by(self, info: strawberry.Info[Context, None]) -> UserType | None:
        if self.row.transferred_by_id is None:
            return None
        return await _user(info, self.row.transferred_by_id)


async def _owner(info: strawberry.Info[Context, None], user_id: int | None, team_id: int | None) -> Any:
    if team_id is None and user_id is None:
        return None  # that owner was deleted since
    return await load_owner(info, user_id or 0, team_id)


# Fields of App and Pipeline, kept here so those types only delegate ----------------------------------------------


async def app_collaborators(info: strawberry.Info[Context, None], app: App) -> list[CollaboratorType]:
    rows = await info.context.loaders.collaborators_by_app.load(app.id)
    return [CollaboratorType.from_model(row) for row in sorted(rows, key=lambda row: row.user.email)]


async def pipeline_transfers(info: strawberry.Info[Context, None], pipeline: Pipeline) -> list[PipelineTransferType]:
    rows = await info.context.loaders.transfers_by_pipeline.load(pipeline.id)
    return [PipelineTransferType(created_at=row.created_at, row=row) for row in rows]


async def pipeline_access(info: strawberry.Info[Context, None], pipeline: Pipeline) -> PipelineAccessType | None:
    """For those who may manage it or work in the pipeline (its owner, team admins and members); else null."""
    access = info.context.access
    rights = await access.pipeline_rights(pipeline)
    if PipelineRight.MEMBER not in rights:
        return None
    team = await info.context.loaders.team_by_id.load(pipeline.team_id) if pipeline.team_id is not None else None
    if team is None:
        shown: list[Permission] = []  # a personal pipeline has no auto-join
    elif team.kind == TeamKind.TEAM:
        shown = [permission for permission in Permission if permission in STATIC_AUTO_JOIN]
    else:
        shown = _permissions(pipeline.auto_join_permissions)
    return PipelineAccessType(
        auto_join=pipeline.auto_join and team is not None, auto_join_permissions=shown, pipeline_id=pipeline.id
    )


__all__ = [
    "CollaboratorType",
    "EphemeralKindEnum",
    "PermissionEnum",
    "PipelineAccessType",
    "PipelineTransferType",
    "app_collaborators",
    "pipeline_access",
    "pipeline_transfers",
]
