"""One small world with every kind of actor, for the authorization matrix and the leak tests.

Two mirror-image sets of objects: `p-…` owned personally by `owner` (with app collaborators of each permission) and
`t-…` owned by the team `crew` (with an admin, a member and a collaborator). Each actor acts on the set it has a
relationship with: its "side". Rows are written directly with the ORM in one transaction: the set-up is not the
subject here, and the matrix builds this world hundreds of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.connection import connections
from tortoise.transactions import in_transaction

from pipegraph.access.rules import ALL_PERMISSIONS, TEAM_ROLE_APP_PERMISSIONS, Permission, PipelineRight, TeamRight
from pipegraph.accounts.models import ApiToken, User
from pipegraph.accounts.service import hash_token
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, PipelineCoupling, Stage
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.slugs.models import Slug
from pipegraph.teams.models import Team, TeamKind, TeamMembership, TeamRole
from tests.support.clients import Actor
from tests.support.database import tables_child_first

PERSONAL, TEAM = "p", "t"
TEAM_NAME = "crew"  # an Enterprise Team, so that its pipelines' auto-join can be changed
SOLO_TEAM = "solo"  # the owner's own team, to transfer a personal pipeline to
STAGES = {"dev": Stage.DEVELOPMENT, "staging": Stage.STAGING, "prod": Stage.PRODUCTION}
CHECKSUM = "SHA256:" + "ab" * 32


@dataclass(frozen=True)
class Profile:
    """What an actor is, in the words of the rule table: its side, its app permissions and its team role."""

    side: str
    app_permissions: frozenset[Permission] = frozenset()
    team_role: TeamRole | None = None
    owns: bool = False  # the personal owner of its side
    # A grant of its side's pipeline Access tab (its review and CI apps), and no app permission: it sees the pipeline
    pipeline_access: frozenset[Permission] = frozenset()

    def permissions_on(self, side: str) -> frozenset[Permission]:
        """Effective permissions: as on Heroku, any permission granted includes view."""
        granted = self.app_permissions if side == self.side else frozenset()
        return granted | {Permission.VIEW} if granted else granted

    def pipeline_rights(self, side: str) -> frozenset[PipelineRight]:
        if side != self.side:
            return frozenset()
        if self.owns or self.team_role == TeamRole.ADMIN:
            return frozenset(PipelineRight)
        if self.team_role == TeamRole.MEMBER:
            return frozenset({PipelineRight.VIEW, PipelineRight.MEMBER})
        return frozenset({PipelineRight.VIEW}) if self.app_permissions or self.pipeline_access else frozenset()

    def pipeline_access_on(self, side: str) -> frozenset[Permission]:
        return self.pipeline_access if side == self.side else frozenset()

    def team_rights(self) -> frozenset[TeamRight] | None:
        """None: the actor does not even see the team."""
        if self.team_role is None:
            return None
        return {
            TeamRole.ADMIN: frozenset(TeamRight),
            TeamRole.MEMBER: frozenset({TeamRight.MEMBER}),
            TeamRole.COLLABORATOR: frozenset(),
        }[self.team_role]


PROFILES: dict[str, Profile] = {
    "owner": Profile(PERSONAL, ALL_PERMISSIONS, owns=True),
    "team-admin": Profile(TEAM, TEAM_ROLE_APP_PERMISSIONS[TeamRole.ADMIN], TeamRole.ADMIN),
    "team-member": Profile(TEAM, TEAM_ROLE_APP_PERMISSIONS[TeamRole.MEMBER], TeamRole.MEMBER),
    "team-collaborator": Profile(TEAM, TEAM_ROLE_APP_PERMISSIONS[TeamRole.COLLABORATOR], TeamRole.COLLABORATOR),
    **{f"collaborator-{p.value}": Profile(PERSONAL, frozenset({p})) for p in Permission},
    "stranger": Profile(PERSONAL),
    "pipeline-grantee": Profile(TEAM, pipeline_access=frozenset({Permission.OPERATE})),  # outside the team
}
ANONYMOUS = "no-token"
ACTORS = [*PROFILES, ANONYMOUS]


@dataclass
class World:
    actors: dict[str, Actor]
    bystander: User  # someone with no part in anything, for mutations that name a second user
    ids: dict[str, int] = field(default_factory=dict)  # object name → primary key
    repo_root: Path | None = None  # the apps' git repositories (settings.repo_dir), for scenarios that need a commit

    def gid(self, type_name: str, name: str) -> str:
        from strawberry import relay

        return str(relay.GlobalID(type_name, str(self.ids[name])))


async def _user(email: str) -> tuple[User, str]:
    user = await User.create(email=email)
    token = f"pgt_{email.split('@')[0]}-matrix-token"
    await ApiToken.create(user=user, description="matrix", token_hash=hash_token(token))
    return user, token


async def build_world() -> World:
    async with in_transaction():
        actors: dict[str, Actor] = {}
        for name in PROFILES:
            user, token = await _user(f"{name}@example.com")
            actors[name] = Actor(user=user, token=token)
        bystander, _ = await _user("bystander@example.com")
        world = World(actors=actors, bystander=bystander)
        owner = actors["owner"].user
        crew = await Team.create(name=TEAM_NAME, kind=TeamKind.ENTERPRISE_TEAM)
        world.ids[TEAM_NAME] = crew.id
        solo = await Team.create(name=SOLO_TEAM, kind=TeamKind.TEAM)
        await TeamMembership.create(team=solo, user=owner, role=TeamRole.ADMIN)
        for name, profile in PROFILES.items():
            if profile.team_role is not None:
                await TeamMembership.create(team=crew, user=actors[name].user, role=profile.team_role)
        uploaded = datetime.now(UTC)
        for side in (PERSONAL, TEAM):
            team = crew if side == TEAM else None
            holder = owner if side == PERSONAL else actors["team-admin"].user
            pipeline = await Pipeline.create(name=f"{side}-line", owner=holder, team=team)
            world.ids[pipeline.name] = pipeline.id
            for suffix in (*STAGES, "loose"):
                app = await App.create(
                    name=f"{side}-{suffix}", owner=holder, team=team, stack="heroku-24", config_vars={"A": "1"}
                )
                world.ids[app.name] = app.id
                if suffix in STAGES:
                    await PipelineCoupling.create(pipeline=pipeline, app=app, stage=STAGES[suffix])
                slug = await Slug.create(
                    app=app, checksum=CHECKSUM, size=10, stack="heroku-24", process_types={"web": "./web"},
                    commit="c0ffee", uploaded_at=uploaded,
                )  # fmt: skip
                world.ids[f"{app.name}/slug"] = slug.id
                build = await Build.create(
                    app=app, source_url="https://example.com/source.tgz", status=BuildStatus.SUCCEEDED, slug=slug
                )
                world.ids[f"{app.name}/build"] = build.id
                if suffix in ("dev", "staging"):
                    release = await Release.create(
                        app=app, version=1, status=ReleaseStatus.SUCCEEDED, is_current=True, slug=slug,
                        description="v1", created_by=holder,
                    )  # fmt: skip
                    app.release_count = 1
                    await app.save(update_fields=["release_count"])
                    world.ids[f"{app.name}/v1"] = release.id
            for name, profile in PROFILES.items():
                if profile.side == side and profile.pipeline_access:
                    await PipelineAccessGrant.create(
                        pipeline=pipeline,
                        user=actors[name].user,
                        permissions=[p.value for p in profile.pipeline_access],
                    )
            if side == PERSONAL:
                apps = await App.filter(name__startswith=f"{side}-")
                for name, profile in PROFILES.items():
                    if profile.side == PERSONAL and not profile.owns and profile.app_permissions:
                        for app in apps:
                            await AppCollaborator.create(
                                app=app, user=actors[name].user, permissions=[p.value for p in profile.app_permissions]
                            )
    return world


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, to show that a refused mutation changed nothing at all."""
    conn = connections.get("default")
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in tables_child_first():
        result = await conn.execute_query_dict(f"SELECT * FROM {table} ORDER BY id")
        # When a token was last used is bookkeeping of the request itself, not a change the caller made.
        rows[table] = [{k: v for k, v in row.items() if k != "last_used_at"} for row in result]
    return rows
