"""Pipeline ownership, as Heroku has it: foreign apps, moving them to the pipeline owner, and pipeline transfers.

Transfers follow Heroku exactly: a person's pipeline goes only to a team that person belongs to (as admin or member);
a team's pipeline goes only to a person who belongs to that team (as admin or member); never person to person
("for billing security"). Where Heroku is silent we refuse: team to team, and to a team collaborator, who reaches only
the apps shared with them and so could not hold a pipeline full of the team's apps.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, PipelineTransfer
from pipegraph.teams.models import Team, TeamMembership, TeamRole

_FULL_MEMBERS = (TeamRole.ADMIN, TeamRole.MEMBER)


def owned_alike(app: App, pipeline: Pipeline) -> bool:
    """Whether the app has the pipeline's owner: the same team, or the same person when neither is a team's."""
    if pipeline.team_id is not None:
        return app.team_id == pipeline.team_id
    return app.team_id is None and app.owner_id == pipeline.owner_id


def foreign(apps: Iterable[App], pipeline: Pipeline) -> list[App]:
    return sorted((app for app in apps if not owned_alike(app, pipeline)), key=lambda app: app.name)


async def pipeline_apps(pipeline: Pipeline) -> list[App]:
    couplings = await PipelineCoupling.filter(pipeline_id=pipeline.id).select_related("app")
    return [coupling.app for coupling in couplings]


def _give_to_owner(app: App, pipeline: Pipeline) -> None:
    # A team app keeps its `owner` (who created or last held it); a personal one changes hands.
    if pipeline.team_id is not None:
        app.team_id = pipeline.team_id
    else:
        app.team_id = None
        app.owner_id = pipeline.owner_id


async def transfer_apps_to_owner(pipeline: Pipeline, apps: Iterable[App]) -> list[App]:
    """Give the pipeline's owner these apps (checked by the caller: manage on each), all in one transaction."""
    moved = list(apps)
    async with in_transaction():
        for app in moved:
            _give_to_owner(app, pipeline)
            await app.save(update_fields=["team_id", "owner_id", "updated_at"])
    return moved


async def _is_full_member(team: Team, user: User) -> bool:
    return await TeamMembership.exists(team_id=team.id, user_id=user.id, role__in=list(_FULL_MEMBERS))


async def _check_transfer(pipeline: Pipeline, *, to_user: User | None, to_team: Team | None) -> None:
    if pipeline.team_id is None:
        owner = await User.get(id=pipeline.owner_id)
        if to_team is None:
            raise DomainError(
                ErrorCode.TRANSFER_NOT_ALLOWED,
                f"pipeline {pipeline.name} belongs to a person: it can go only to a team they are a member of, "
                "never to another person (for billing security)",
                field="newOwner",
            )
        if not await _is_full_member(to_team, owner):
            raise DomainError(
                ErrorCode.NEW_OWNER_NOT_TEAM_MEMBER,
                f"{owner.email} is not an admin or member of team {to_team.name}",
                field="newOwner",
            )
        return
    team = await Team.get(id=pipeline.team_id)
    if to_user is None:
        assert to_team is not None
        if to_team.id == team.id:
            raise DomainError(
                ErrorCode.ALREADY_OWNER, f"team {team.name} already owns pipeline {pipeline.name}", field="newOwner"
            )
        raise DomainError(
            ErrorCode.TRANSFER_NOT_ALLOWED,
            f"pipeline {pipeline.name} belongs to team {team.name}: it can go only to a member of that team",
            field="newOwner",
        )
    if not await _is_full_member(team, to_user):
        raise DomainError(
            ErrorCode.NEW_OWNER_NOT_TEAM_MEMBER,
            f"{to_user.email} is not an admin or member of team {team.name}",
            field="newOwner",
        )


async def transfer_pipeline(
    pipeline: Pipeline, *, by: User, to_user: User | None = None, to_team: Team | None = None
) -> PipelineTransfer:
    """Move the pipeline, and the apps in it that its previous owner held, to the new owner; record the move."""
    if (to_user is None) == (to_team is None):
        raise DomainError(ErrorCode.INVALID, "give the new owner as exactly one of team or user", field="newOwner")
    await _check_transfer(pipeline, to_user=to_user, to_team=to_team)
    async with in_transaction():
        locked = await Pipeline.select_for_update().get(id=pipeline.id)
        if (locked.team_id, locked.owner_id) != (pipeline.team_id, pipeline.owner_id):
            raise DomainError(ErrorCode.TRANSFER_NOT_ALLOWED, "the pipeline was just transferred", field="pipeline")
        record = PipelineTransfer(
            pipeline_id=locked.id,
            previous_owner_user_id=locked.owner_id if locked.team_id is None else None,
            previous_owner_team_id=locked.team_id,
            new_owner_user_id=to_user.id if to_user else None,
            new_owner_team_id=to_team.id if to_team else None,
            transferred_by_id=by.id,
        )
        along = [app for app in await pipeline_apps(locked) if owned_alike(app, locked)]
        if to_team is not None:
            locked.team_id = to_team.id  # `owner` stays: the person who last held it
        else:
            assert to_user is not None
            locked.team_id = None
            locked.owner_id = to_user.id
        await locked.save(update_fields=["team_id", "owner_id", "updated_at"])
        for app in along:
            _give_to_owner(app, locked)
            await app.save(update_fields=["team_id", "owner_id", "updated_at"])
        await record.save()
    pipeline.team_id, pipeline.owner_id = locked.team_id, locked.owner_id
    return record
