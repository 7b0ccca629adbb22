"""Who sees whom: `node(id:)` on every user × every actor, against the rule (VISIBILITY["User"]), and every field of
the schema that returns a user showing no one that `node(id:)` would not.

The world of tests/support/authz_world.py, plus a user met in each way the rule names: one who released to p-staging,
one who promoted in p-line, one who transferred p-line and its former owner, one granted access to p-line; and
`t-viewer`, who may only view the team's t-prod (whose owner is the team, not the user who created it: it meets
no one through it, but the team meets it); and `borrower`, who may view l-app, which `lender` owns and which is in
l-line, which `pipe-owner` owns: so each relation of the rule is the only way to meet someone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest
from strawberry import relay

from pipegraph.access.rules import PipelineRight
from pipegraph.accounts.models import User
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.builds.models import Build
from pipegraph.ci.models import TestRun
from pipegraph.github.models import Deploy
from pipegraph.pipelines.models import Pipeline, PipelineAccessGrant, PipelineCoupling, PipelineTransfer, Stage
from pipegraph.promotions.models import Promotion, PromotionStatus
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.teams.models import TeamRole
from tests.support.authz_world import PERSONAL, PROFILES, SOLO_TEAM, TEAM, TEAM_NAME, World, build_world
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.test_authorization_matrix import ALL_APPS, SDL, seen_apps, seen_pipelines

P_APPS = frozenset(name for name in ALL_APPS if name.startswith(f"{PERSONAL}-"))
T_VIEWER, BORROWER = "t-viewer", "borrower"
ACTORS = [*PROFILES, T_VIEWER, BORROWER]


@dataclass(frozen=True)
class Met:
    """How one can meet a user: through apps one sees, pipelines one sees, or pipelines one is a member of."""

    apps: frozenset[str] = frozenset()
    pipelines: frozenset[str] = frozenset()
    member_pipelines: frozenset[str] = frozenset()


# Every user of the scene but the actors' own teams, and where the rule says one meets them.
MET: dict[str, Met] = {
    "owner": Met(apps=P_APPS, pipelines=frozenset({"p-line"})),  # owns p-… personally (and released to p-dev …)
    "team-admin": Met(apps=frozenset({"t-dev", "t-staging"})),  # released there; t-… are the team's, not theirs
    "team-member": Met(),
    "team-collaborator": Met(),
    **{name: Met(apps=P_APPS) for name in PROFILES if name.startswith("collaborator-")},
    "stranger": Met(),
    "pipeline-grantee": Met(member_pipelines=frozenset({"t-line"})),  # granted access to it
    "bystander": Met(),
    "releaser": Met(apps=frozenset({"p-staging"})),
    "builder": Met(apps=frozenset({"p-staging"})),
    "promoter": Met(pipelines=frozenset({"p-line"})),
    "tester": Met(pipelines=frozenset({"p-line"})),
    "transferrer": Met(pipelines=frozenset({"p-line"})),
    "former-owner": Met(pipelines=frozenset({"p-line"})),
    "grantee": Met(member_pipelines=frozenset({"p-line"})),
    T_VIEWER: Met(apps=frozenset({"t-prod"})),  # collaborates on it
    # Met one way only: the personal owner of l-app, the personal owner of l-line (which holds l-app), and
    # `borrower`, who may view l-app.
    "lender": Met(apps=frozenset({"l-app"})),
    "pipe-owner": Met(pipelines=frozenset({"l-line"})),
    BORROWER: Met(apps=frozenset({"l-app"})),
}


def teams_of(name: str) -> set[str]:
    profile = PROFILES.get(name)
    teams = {TEAM_NAME} if profile is not None and profile.team_role is not None else set()
    return teams | ({SOLO_TEAM} if name == "owner" else set())


def sight(actor: str) -> Met:
    """What the actor sees, by the rule table (the matrix's own reading of it)."""
    if actor == T_VIEWER:
        return Met(apps=frozenset({"t-prod"}), pipelines=frozenset({"t-line"}))
    if actor == BORROWER:
        return Met(apps=frozenset({"l-app"}), pipelines=frozenset({"l-line"}))
    profile = PROFILES[actor]
    members = {f"{side}-line" for side in (PERSONAL, TEAM) if PipelineRight.MEMBER in profile.pipeline_rights(side)}
    return Met(frozenset(seen_apps(profile)), frozenset(seen_pipelines(profile)), frozenset(members))


def expected_users(actor: str) -> set[str]:
    seen = sight(actor)
    return {
        name
        for name, met in MET.items()
        if name == actor
        or teams_of(name) & teams_of(actor)
        or met.apps & seen.apps
        or met.pipelines & seen.pipelines
        or met.member_pipelines & seen.member_pipelines
    }


@dataclass
class Scene:
    world: World
    actors: dict[str, Actor]
    users: dict[str, User]  # by name: every user of MET


async def _scene() -> Scene:
    world = await build_world()
    ids = world.ids
    users = {name: actor.user for name, actor in world.actors.items()} | {"bystander": world.bystander}
    for name in ("releaser", "builder", "promoter", "tester", "transferrer", "former-owner", "grantee"):
        users[name] = await User.create(email=f"{name}@example.com")
    await Release.create(
        app_id=ids["p-staging"], version=2, status=ReleaseStatus.SUCCEEDED, is_current=False,
        slug_id=ids["p-staging/slug"], description="v2", created_by=users["releaser"],
    )  # fmt: skip
    await Build.create(
        app_id=ids["p-staging"], source_url="https://example.com/source.tgz", created_by=users["builder"]
    )
    # the builder deployed a branch by hand too (a deploy's actor): met the same way, through the app
    await Deploy.create(
        app_id=ids["p-staging"], repository="acme/p", branch="main", created_by=users["builder"], message="queued"
    )
    await Promotion.create(
        pipeline_id=ids["p-line"], source_app_id=ids["p-staging"], source_release_id=ids["p-staging/v1"],
        created_by=users["promoter"], status=PromotionStatus.COMPLETED,
    )  # fmt: skip
    await TestRun.create(
        pipeline_id=ids["p-line"], number=1, commit_sha="a" * 40, commit_branch="main", actor=users["tester"]
    )
    await PipelineTransfer.create(
        pipeline_id=ids["p-line"], previous_owner_user=users["former-owner"], new_owner_user=users["owner"],
        transferred_by=users["transferrer"],
    )  # fmt: skip
    await PipelineAccessGrant.create(pipeline_id=ids["p-line"], user=users["grantee"], permissions=["view"])
    t_viewer = await make_actor(f"{T_VIEWER}@example.com")
    await AppCollaborator.create(app_id=ids["t-prod"], user=t_viewer.user, permissions=["view"])
    users[T_VIEWER] = t_viewer.user
    borrower = await make_actor(f"{BORROWER}@example.com")
    users[BORROWER] = borrower.user
    for name in ("lender", "pipe-owner"):
        users[name] = await User.create(email=f"{name}@example.com")
    lent = await App.create(name="l-app", owner=users["lender"], stack="heroku-24", config_vars={})
    line = await Pipeline.create(name="l-line", owner=users["pipe-owner"])
    await PipelineCoupling.create(pipeline=line, app=lent, stage=Stage.STAGING)
    await AppCollaborator.create(app=lent, user=borrower.user, permissions=["view"])
    assert set(users) == set(MET), "say in MET where each user of the scene is met"
    return Scene(world=world, actors={**world.actors, T_VIEWER: t_viewer, BORROWER: borrower}, users=users)


def _names(scene: Scene, emails: Iterator[str]) -> set[str]:
    by_email = {user.email: name for name, user in scene.users.items()}
    return {by_email[email] for email in emails}


def _emails(data: Any) -> Iterator[str]:
    """Every `email` anywhere in a response."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "email" and isinstance(value, str):
                yield value
            else:
                yield from _emails(value)
    elif isinstance(data, list):
        for item in data:
            yield from _emails(item)


@pytest.mark.parametrize("actor", ACTORS)
async def test_a_user_node_shows_exactly_to_whom_the_rule_says(
    client: httpx.AsyncClient, settings: Any, actor: str
) -> None:
    # given the scene
    scene = await _scene()
    names = sorted(scene.users)
    document = "{ " + " ".join(
        f'u{n}: node(id: "{relay.GlobalID("User", str(scene.users[name].id))}") {{ ... on User {{ email }} }}'
        for n, name in enumerate(names)
    ) + " }"  # fmt: skip

    # when the actor asks for every user by global ID
    data = await GraphQLClient(client, scene.actors[actor])(document)

    # then it finds exactly the users the rule lets it meet, and null for the rest
    assert _names(scene, _emails(data)) == expected_users(actor)


# Keyed by "Type.field" for every field that returns a user (or an owner that may be one): a document that reads it
# everywhere the scene has one. node(id:) is the test above.
USER_FIELDS: dict[str, str] = {
    "Query.viewer": "{ viewer { email } }",
    "App.owner": "{ apps(first: 100) { edges { node { owner { ... on User { email } } } } } }",
    "Pipeline.owner": "{ pipelines(first: 100) { edges { node { owner { ... on User { email } } } } } }",
    "Collaborator.user": """{
      apps(first: 100) { edges { node { collaborators { user { email } } } } }
      pipelines(first: 100) { edges { node { access { grants { user { email } } } } } }
    }""",
    "PipelineTransfer.previousOwner": """{
      pipelines(first: 100) { edges { node { transfers { previousOwner { ... on User { email } } } } } }
    }""",
    "PipelineTransfer.newOwner": """{
      pipelines(first: 100) { edges { node { transfers { newOwner { ... on User { email } } } } } }
    }""",
    "PipelineTransfer.transferredBy": """{
      pipelines(first: 100) { edges { node { transfers { transferredBy { email } } } } }
    }""",
    "Promotion.createdBy": """{
      pipelines(first: 100) { edges { node { promotions(first: 100) { edges { node { createdBy { email } } } } } } }
    }""",
    "Release.createdBy": """{
      apps(first: 100) { edges { node { releases(first: 100) { edges { node { createdBy { email } } } } } } }
      pipelines(first: 100) { edges { node { promotions(first: 100) { edges { node {
        sourceRelease { createdBy { email } } targets { release { createdBy { email } } }
      } } } } } }
    }""",
    "TestRun.actor": """{
      pipelines(first: 100) { edges { node { testRuns(first: 100) { edges { node { actor { email } } } } } } }
    }""",
    "Deploy.actor": """{
      pipelines(first: 100) { edges { node { deploys(first: 100) { actor { email } } } } }
    }""",
    "Build.createdBy": """{
      apps(first: 100) { edges { node { builds(first: 100) { edges { node { createdBy { email } } } } } } }
    }""",
    "TeamMember.user": "{ viewer { teams { members { user { email } } } } }",
}


def _returns_a_user(type_: graphql.GraphQLOutputType) -> bool:
    named = graphql.get_named_type(type_)
    return named.name == "User" or (
        isinstance(named, graphql.GraphQLUnionType) and any(member.name == "User" for member in named.types)
    )


def test_every_field_returning_a_user_has_a_document() -> None:
    fields = {
        f"{type_name}.{field_name}"
        for type_name, type_ in SDL.type_map.items()
        if isinstance(type_, graphql.GraphQLObjectType) and not type_name.startswith("__")
        for field_name, field in type_.fields.items()
        if _returns_a_user(field.type)
    }
    assert fields == set(USER_FIELDS), "read each new field that returns a user in USER_FIELDS (and drop removed ones)"


@pytest.mark.parametrize("field", sorted(USER_FIELDS))
async def test_a_field_returning_a_user_shows_only_users_the_rule_lets_one_see(
    client: httpx.AsyncClient, settings: Any, field: str
) -> None:
    # given the scene
    scene = await _scene()

    # when every actor reads that field everywhere it can
    found = {
        actor: _names(scene, _emails(await GraphQLClient(client, scene.actors[actor])(USER_FIELDS[field])))
        for actor in ACTORS
    }

    # then no one meets a user there that node(id:) would hide from them, and the field does show users to someone
    for actor, names in found.items():
        assert names <= expected_users(actor), f"{field} shows {actor} {names - expected_users(actor)}"
    assert any(found.values()), f"the scene has no {field} to read"


async def test_the_rule_is_not_wider_than_a_team_role_gives(client: httpx.AsyncClient, settings: Any) -> None:
    # given the scene, where the team's collaborator has no app of the team's
    scene = await _scene()
    assert PROFILES["team-collaborator"].team_role == TeamRole.COLLABORATOR

    # when it reads its team's roster
    data = await GraphQLClient(client, scene.actors["team-collaborator"])(USER_FIELDS["TeamMember.user"])

    # then it sees its teammates, and through them no one else
    assert _names(scene, _emails(data)) == {"team-admin", "team-member", "team-collaborator"}
