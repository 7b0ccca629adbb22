"""Every mutation and every top-level query of the schema × every kind of actor, against the rule table.

The fields are read from the schema itself, so a new one without a scenario here fails. What each actor may do is
derived from RULES (which permission or role an operation needs on each object it names) and the actor's profile;
a refused call must be refused the way the rules say (NOT_FOUND for what the actor cannot see, FORBIDDEN for what it
sees but may not change) and must leave every row of every table as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest
from strawberry import relay

from pipegraph.access.rules import RULES, EphemeralAction, PipelineRight, ephemeral_allows
from pipegraph.accounts.service import create_token
from pipegraph.apps.models import AppCollaborator
from pipegraph.ci.models import PipelineCi, TestNode, TestRun
from pipegraph.github.models import Deploy, RepositoryConnection
from pipegraph.pipelines.models import PipelineAccessGrant
from pipegraph.reviewapps.models import ReviewApp, ReviewAppConfig
from pipegraph.schema import schema
from pipegraph.teams.models import TeamMembership, TeamRole
from tests.support.authz_world import (
    ACTORS,
    ANONYMOUS,
    CHECKSUM,
    PERSONAL,
    PROFILES,
    SOLO_TEAM,
    STAGES,
    TEAM,
    TEAM_NAME,
    Profile,
    World,
    build_world,
    snapshot,
)
from tests.support.ci_scene import commit_in_repository

SDL = graphql.build_schema(schema.as_str())
assert SDL.mutation_type is not None
MUTATION_FIELDS = sorted(SDL.mutation_type.fields)
QUERY_FIELDS = sorted(SDL.query_type.fields) if SDL.query_type else []

Variables = Callable[[World, str, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Check:
    """One object a mutation names (of the actor's side unless `side` says), and the RULES operation it needs."""

    kind: str  # "app", "pipeline" or "team"
    operation: str
    side: str | None = None
    # For the one rule whose check lives in a note of RULES (createEphemeralApp: the pipeline-access table decides
    # for everyone else): the pipeline right it needs, and the code of its refusal.
    pipeline_right: PipelineRight | None = None
    refusal: str = "FORBIDDEN"
    # What pipeline access (the Access tab) must allow instead, for one without `pipeline_right` (the seed's table)
    action: EphemeralAction | None = None


@dataclass(frozen=True)
class MutationScenario:
    input: Variables  # the mutation's `input`, valid for an actor allowed to run it
    checks: tuple[Check, ...] = ()  # in the order the resolver checks them


def _static(build: Callable[[World, str], dict[str, Any]]) -> Variables:
    async def variables(world: World, side: str, actor: str) -> dict[str, Any]:
        return build(world, side)

    return variables


def app(operation: str) -> Check:
    return Check("app", operation)


def pipeline(operation: str) -> Check:
    return Check("pipeline", operation)


def team(operation: str) -> Check:
    return Check("team", operation)


async def _bystander_collaborates(world: World, side: str, actor: str) -> dict[str, Any]:
    await AppCollaborator.create(app_id=world.ids[f"{side}-dev"], user=world.bystander, permissions=["view"])
    return {"app": f"{side}-dev", "user": world.bystander.email}


async def _bystander_has_pipeline_access(world: World, side: str, actor: str) -> dict[str, Any]:
    await PipelineAccessGrant.create(pipeline_id=world.ids[f"{side}-line"], user=world.bystander, permissions=["view"])
    return {"pipeline": f"{side}-line", "user": world.bystander.email}


async def _own_second_token(world: World, side: str, actor: str) -> dict[str, Any]:
    holder = world.actors.get(actor, world.actors["owner"])  # without a token, the call is refused before anything
    token, _ = await create_token(holder.user, description="second")
    return {"id": str(relay.GlobalID("ApiToken", str(token.id)))}


def _new_owner(world: World, side: str) -> dict[str, Any]:
    # Heroku's rules: a person's pipeline to a team they are in; a team's pipeline to one of its members.
    new_owner = {"team": SOLO_TEAM} if side == PERSONAL else {"user": "team-member@example.com"}
    return {"pipeline": f"{side}-line", "newOwner": new_owner}


async def _ci_on(world: World, side: str, actor: str) -> dict[str, Any]:
    """CI on for the side's pipeline, and a commit on main of its development app."""
    assert world.repo_root is not None
    await PipelineCi.create(pipeline_id=world.ids[f"{side}-line"], enabled=True)
    await commit_in_repository(world.repo_root, world.ids[f"{side}-dev"])
    return {"pipeline": f"{side}-line", "branch": "main"}


async def _a_test_run(world: World, side: str, actor: str) -> dict[str, Any]:
    run = await TestRun.create(
        pipeline_id=world.ids[f"{side}-line"], number=1, commit_sha="a" * 40, commit_branch="main"
    )
    await TestNode.create(test_run_id=run.id)
    return {"id": str(relay.GlobalID("TestRun", str(run.id)))}


async def _a_test_run_with_ci_on(world: World, side: str, actor: str) -> dict[str, Any]:
    await PipelineCi.create(pipeline_id=world.ids[f"{side}-line"], enabled=True)
    return await _a_test_run(world, side, actor)


async def _bystander_in_team(world: World, side: str, actor: str) -> dict[str, Any]:
    await TeamMembership.create(team_id=world.ids[TEAM_NAME], user=world.bystander, role=TeamRole.MEMBER)
    return {"team": TEAM_NAME, "user": world.bystander.email}


async def _connected(world: World, side: str) -> None:
    await RepositoryConnection.get_or_create(
        pipeline_id=world.ids[f"{side}-line"], defaults={"full_name": f"acme/{side}", "webhook_secret": "s"}
    )


def _with_repository(build: Callable[[World, str], dict[str, Any]]) -> Variables:
    """The side's pipeline connected to a repository first (what these mutations need besides the rights)."""

    async def variables(world: World, side: str, actor: str) -> dict[str, Any]:
        await _connected(world, side)
        return build(world, side)

    return variables


async def _review_apps_enabled(world: World, side: str, actor: str) -> dict[str, Any]:
    await _connected(world, side)
    await ReviewAppConfig.get_or_create(pipeline_id=world.ids[f"{side}-line"], defaults={"base_name": side})
    return {"pipeline": f"{side}-line", "pullRequest": 7}


async def _review_apps_on(world: World, side: str, actor: str) -> dict[str, Any]:
    await _review_apps_enabled(world, side, actor)
    return {"pipeline": f"{side}-line"}


async def _review_app_exists(world: World, side: str, actor: str) -> dict[str, Any]:
    variables = await _review_apps_enabled(world, side, actor)
    await ReviewApp.create(
        pipeline_id=world.ids[f"{side}-line"], pr_number=7, app_name=f"{side}-pr-7", branch="b", head_sha="a" * 40
    )
    return variables


# Keyed by mutation field; "field:variant" for a second way of calling the same field.
MUTATIONS: dict[str, MutationScenario] = {
    "createApp": MutationScenario(_static(lambda w, s: {"name": "brand-new"})),
    "createApp:team": MutationScenario(
        _static(lambda w, s: {"name": "brand-new", "team": TEAM_NAME}), (team("createApp"),)
    ),
    "setConfigVars": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "vars": {"B": "2"}}), (app("setConfigVars"),)
    ),
    "createSlug": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "checksum": CHECKSUM, "processTypes": {"web": "./web"}}),
        (app("createSlug"),),
    ),
    "createRelease": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "slug": w.gid("Slug", f"{s}-dev/slug")}), (app("createRelease"),)
    ),
    "createSource": MutationScenario(_static(lambda w, s: {"app": f"{s}-dev"}), (app("createSource"),)),
    "createBuild": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "sourceBlob": {"url": "https://example.com/source.tgz"}}),
        (app("createBuild"),),
    ),
    "setBuildpacks": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "buildpacks": ["procfile"]}), (app("setBuildpacks"),)
    ),
    "rollback": MutationScenario(_static(lambda w, s: {"app": f"{s}-staging", "version": 1}), (app("rollback"),)),
    # To the next stage by default: view on the source, then deploy on each target, before anything is written.
    "promote": MutationScenario(_static(lambda w, s: {"source": f"{s}-staging"}), (app("promote"), app("promoteInto"))),
    "createPipeline": MutationScenario(
        _static(lambda w, s: {"name": "brand-new", "app": f"{s}-loose"}), (app("createPipeline"),)
    ),
    "createPipeline:team": MutationScenario(
        _static(lambda w, s: {"name": "brand-new", "app": f"{s}-loose", "team": TEAM_NAME}),
        (app("createPipeline"), team("createPipeline")),
    ),
    "renamePipeline": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line", "name": "renamed"}), (pipeline("renamePipeline"),)
    ),
    "destroyPipeline": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line"}), (pipeline("destroyPipeline"),)
    ),
    "addAppToPipeline": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line", "app": f"{s}-loose", "stage": "development"}),
        (pipeline("addAppToPipeline"), app("addAppToPipeline")),
    ),
    "removeAppFromPipeline": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-prod"}), (app("removeAppFromPipeline"),)
    ),
    "moveAppToStage": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "stage": "staging"}), (app("moveAppToStage"),)
    ),
    # Teams: every actor acts on the one team, crew.
    "createTeam": MutationScenario(_static(lambda w, s: {"name": "new-crew"})),
    "addTeamMember": MutationScenario(
        _static(lambda w, s: {"team": TEAM_NAME, "user": w.bystander.email, "role": "MEMBER"}),
        (team("addTeamMember"),),
    ),
    "removeTeamMember": MutationScenario(_bystander_in_team, (team("removeTeamMember"),)),
    # Collaborators, the pipeline access tab, ephemeral apps and transfers
    "addAppCollaborator": MutationScenario(
        _static(lambda w, s: {"app": f"{s}-dev", "user": w.bystander.email, "permissions": ["VIEW"]}),
        (app("addAppCollaborator"),),
    ),
    "removeAppCollaborator": MutationScenario(_bystander_collaborates, (app("removeAppCollaborator"),)),
    "grantPipelineAccess": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line", "user": w.bystander.email, "permissions": ["VIEW"]}),
        (pipeline("grantPipelineAccess"),),
    ),
    "revokePipelineAccess": MutationScenario(_bystander_has_pipeline_access, (pipeline("revokePipelineAccess"),)),
    # Only a team's pipeline has auto-join: everyone asks about the team's.
    "updatePipelineAutoJoin": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{TEAM}-line", "enabled": False}),
        (Check("pipeline", "updatePipelineAutoJoin", side=TEAM),),
    ),
    "createEphemeralApp": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line", "name": "review-one", "kind": "REVIEW"}),
        (
            Check(
                "pipeline",
                "createEphemeralApp",
                pipeline_right=PipelineRight.MEMBER,
                refusal="NO_PIPELINE_ACCESS",
                action=EphemeralAction.CREATE_REVIEW_APPS,
            ),
        ),
    ),
    "transferPipeline": MutationScenario(_static(_new_owner), (pipeline("transferPipeline"),)),
    # CI: pipeline admins do everything; members start runs; anyone else what their pipeline access allows (the
    # team's auto-join gives members view, deploy and operate: no manage)
    "enableCi": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line"}),
        (Check("pipeline", "enableCi", pipeline_right=PipelineRight.ADMIN, action=EphemeralAction.ENABLE_CI),),
    ),
    "disableCi": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line"}),
        (Check("pipeline", "disableCi", pipeline_right=PipelineRight.ADMIN, action=EphemeralAction.ENABLE_CI),),
    ),
    "createTestRun": MutationScenario(
        _ci_on,
        (
            Check(
                "pipeline", "createTestRun", pipeline_right=PipelineRight.MEMBER, action=EphemeralAction.CREATE_CI_APPS
            ),
        ),
    ),
    "rerunTestRun": MutationScenario(
        _a_test_run_with_ci_on,
        (
            Check(
                "pipeline", "rerunTestRun", pipeline_right=PipelineRight.MEMBER, action=EphemeralAction.CREATE_CI_APPS
            ),
        ),
    ),
    "cancelTestRun": MutationScenario(
        _a_test_run,
        (
            Check(
                "pipeline", "cancelTestRun", pipeline_right=PipelineRight.ADMIN, action=EphemeralAction.CANCEL_CI_RUNS
            ),
        ),
    ),
    "transferAppsToPipelineOwner": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line"}), (pipeline("transferAppsToPipelineOwner"),)
    ),
    # Tokens: each user manages their own (someone else's token is "not found": see the leak tests)
    "createApiToken": MutationScenario(_static(lambda w, s: {"description": "ci"})),
    "revokeApiToken": MutationScenario(_own_second_token),
    # GitHub
    "connectRepository": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line", "repository": "acme/shop"}), (pipeline("connectRepository"),)
    ),
    "disconnectRepository": MutationScenario(
        _with_repository(lambda w, s: {"pipeline": f"{s}-line"}), (pipeline("disconnectRepository"),)
    ),
    "enableAutomaticDeploys": MutationScenario(
        _with_repository(lambda w, s: {"app": f"{s}-staging", "branch": "main"}), (app("enableAutomaticDeploys"),)
    ),
    "deployBranch": MutationScenario(
        _with_repository(lambda w, s: {"app": f"{s}-staging", "branch": "main"}), (app("deployBranch"),)
    ),
    "enableReviewApps": MutationScenario(
        _with_repository(lambda w, s: {"pipeline": f"{s}-line", "automatic": True}), (pipeline("enableReviewApps"),)
    ),
    "disableReviewApps": MutationScenario(_review_apps_on, (pipeline("disableReviewApps"),)),
    "createReviewApp": MutationScenario(
        _review_apps_enabled,
        (
            Check(
                "pipeline",
                "createReviewApp",
                pipeline_right=PipelineRight.MEMBER,
                refusal="NO_PIPELINE_ACCESS",
                action=EphemeralAction.CREATE_REVIEW_APPS,
            ),
        ),
    ),
    "deleteReviewApp": MutationScenario(
        _review_app_exists,
        (
            Check(
                "pipeline",
                "deleteReviewApp",
                pipeline_right=PipelineRight.MEMBER,
                refusal="NO_PIPELINE_ACCESS",
                action=EphemeralAction.DELETE_REVIEW_APPS,
            ),
        ),
    ),
    "setStageConfigVars": MutationScenario(
        _static(lambda w, s: {"pipeline": f"{s}-line", "stage": "REVIEW", "vars": {"A": "1"}}),
        (pipeline("setStageConfigVars"),),
    ),
    "setTeamMemberRole": MutationScenario(
        _static(lambda w, s: {"team": TEAM_NAME, "user": "team-member@example.com", "role": "COLLABORATOR"}),
        (team("setTeamMemberRole"),),
    ),
}
SCENARIOS = sorted(MUTATIONS)


def expected_outcome(profile: Profile, checks: tuple[Check, ...]) -> str | None:
    """None when the rules allow it; else the code of the first refusal, in the order the objects are checked."""
    for check in checks:
        rule = RULES[check.operation]
        side = check.side or profile.side
        needed_right = check.pipeline_right or rule.pipeline
        if check.kind == "app" and rule.app is not None:
            permissions = profile.permissions_on(side)
            if not permissions:
                return "NOT_FOUND"
            if rule.app not in permissions:
                return check.refusal
        elif check.kind == "pipeline" and needed_right is not None:
            rights = profile.pipeline_rights(side)
            if not rights:
                return "NOT_FOUND"
            if needed_right not in rights and not (
                check.action is not None and ephemeral_allows(profile.pipeline_access_on(side), check.action)
            ):
                return check.refusal
        elif check.kind == "team" and rule.team is not None:
            team_rights = profile.team_rights()
            if team_rights is None:
                return "NOT_FOUND"
            if rule.team not in team_rights:
                return check.refusal
    return None


def mutation_document(field: str) -> str:
    assert SDL.mutation_type is not None
    input_type = graphql.get_named_type(SDL.mutation_type.fields[field].args["input"].type)
    return (
        f"mutation($input: {input_type.name}!) {{ {field}(input: $input) {{ userErrors {{ field message code }} }} }}"
    )


async def post(client: httpx.AsyncClient, world: World, actor: str, query: str, variables: dict[str, Any]) -> Any:
    headers = {} if actor == ANONYMOUS else world.actors[actor].headers
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def test_every_mutation_and_query_of_the_schema_has_a_scenario() -> None:
    assert sorted({key.split(":")[0] for key in MUTATIONS}) == MUTATION_FIELDS, (
        "write a scenario for each new mutation (and drop removed ones)"
    )
    assert sorted(QUERIES) == QUERY_FIELDS, "write a scenario for each new top-level query (and drop removed ones)"


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("key", SCENARIOS)
async def test_mutation_is_allowed_or_refused_as_the_rules_say(
    client: httpx.AsyncClient, settings: Any, key: str, actor: str
) -> None:
    field, scenario = key.split(":")[0], MUTATIONS[key]
    if field not in MUTATION_FIELDS:
        pytest.fail(f"{field} is no longer a mutation: drop its scenario")
    # given the world, and the input of a call that succeeds for whoever may make it
    world = await build_world()
    world.repo_root = settings.repo_dir
    side = PROFILES[actor].side if actor != ANONYMOUS else PERSONAL
    variables = {"input": await scenario.input(world, side, actor)}
    before = await snapshot()

    # when the actor makes the call
    response = await post(client, world, actor, mutation_document(field), variables)

    # then it is allowed or refused exactly as the rule table says, and a refusal changed nothing
    if actor == ANONYMOUS:
        assert response.status_code == 401
        assert await snapshot() == before
        return
    body = response.json()
    assert not body.get("errors"), body
    errors = body["data"][field]["userErrors"]
    expected = expected_outcome(PROFILES[actor], scenario.checks)
    if expected is None:
        assert errors == [], f"{actor} may {field} by the rules, but was refused: {errors}"
    else:
        assert [error["code"] for error in errors] == [expected], f"{actor} must not {field}: {errors}"
        assert await snapshot() == before, f"refused {field} by {actor} changed rows"


# --- queries -------------------------------------------------------------------------------------------------------

ALL_APPS = [f"{side}-{suffix}" for side in (PERSONAL, TEAM) for suffix in (*STAGES, "loose")]


def seen_apps(profile: Profile) -> set[str]:
    return {name for name in ALL_APPS if profile.permissions_on(name.split("-")[0])}


def seen_pipelines(profile: Profile) -> set[str]:
    return {f"{side}-line" for side in (PERSONAL, TEAM) if profile.pipeline_rights(side)}


@dataclass(frozen=True)
class QueryScenario:
    document: str
    variables: Callable[[World, str], dict[str, Any]]
    reveals: Callable[[dict[str, Any]], Any]  # what the answer shows
    expected: Callable[[Profile, str, World, str], Any]  # what it must show to this actor (profile, side, …)


def _names(connection: dict[str, Any]) -> set[str]:
    return {edge["node"]["name"] for edge in connection["edges"]}


QUERIES: dict[str, QueryScenario] = {
    "viewer": QueryScenario(
        "{ viewer { email } }",
        lambda w, s: {},
        lambda data: data["viewer"]["email"],
        lambda profile, side, w, actor: w.actors[actor].user.email,
    ),
    "app": QueryScenario(
        "query($name: String!) { app(name: $name) { name } }",
        lambda w, s: {"name": f"{s}-dev"},
        lambda data: data["app"],
        lambda profile, side, w, actor: {"name": f"{side}-dev"} if profile.permissions_on(side) else None,
    ),
    "apps": QueryScenario(
        "{ apps(first: 100) { edges { node { name } } } }",
        lambda w, s: {},
        lambda data: _names(data["apps"]),
        lambda profile, side, w, actor: seen_apps(profile),
    ),
    "pipeline": QueryScenario(
        "query($name: String!) { pipeline(name: $name) { name } }",
        lambda w, s: {"name": f"{s}-line"},
        lambda data: data["pipeline"],
        lambda profile, side, w, actor: {"name": f"{side}-line"} if profile.pipeline_rights(side) else None,
    ),
    "pipelines": QueryScenario(
        "{ pipelines(first: 100) { edges { node { name } } } }",
        lambda w, s: {},
        lambda data: _names(data["pipelines"]),
        lambda profile, side, w, actor: seen_pipelines(profile),
    ),
    "build": QueryScenario(
        "query($id: ID!) { build(id: $id) { sourceBlob { url } } }",
        lambda w, s: {"id": w.gid("Build", f"{s}-dev/build")},
        lambda data: data["build"],
        lambda profile, side, w, actor: (
            {"sourceBlob": {"url": "https://example.com/source.tgz"}} if profile.permissions_on(side) else None
        ),
    ),
    "node": QueryScenario(
        "query($id: ID!) { node(id: $id) { ... on App { name } } }",
        lambda w, s: {"id": w.gid("App", f"{s}-prod")},
        lambda data: data["node"],
        lambda profile, side, w, actor: {"name": f"{side}-prod"} if profile.permissions_on(side) else None,
    ),
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("field", QUERY_FIELDS)
async def test_query_shows_what_the_rules_let_the_actor_see(
    client: httpx.AsyncClient, settings: Any, field: str, actor: str
) -> None:
    scenario = QUERIES.get(field)
    assert scenario is not None, f"no authorization scenario for query {field}"
    # given the world
    world = await build_world()
    side = PROFILES[actor].side if actor != ANONYMOUS else PERSONAL

    # when the actor asks
    response = await post(client, world, actor, scenario.document, scenario.variables(world, side))

    # then it sees exactly what the rules let it see, and without a token nothing at all
    if actor == ANONYMOUS:
        assert response.status_code == 401
        return
    body = response.json()
    assert not body.get("errors"), body
    assert scenario.reveals(body["data"]) == scenario.expected(PROFILES[actor], side, world, actor)


# --- nodes reached only through node(id:) ---------------------------------------------------------------------------


async def _a_deploy(world: World, side: str) -> str:
    deploy = await Deploy.create(
        app_id=world.ids[f"{side}-dev"], repository=f"acme/{side}", branch="main", sha="a" * 40, message="queued"
    )
    return str(relay.GlobalID("Deploy", str(deploy.id)))


async def _a_review_app(world: World, side: str) -> str:
    row = await ReviewApp.create(
        pipeline_id=world.ids[f"{side}-line"], pr_number=7, app_name=f"{side}-pr-7", branch="b", head_sha="a" * 40
    )
    return str(relay.GlobalID("ReviewApp", str(row.id)))


async def _the_build(world: World, side: str) -> str:
    return world.gid("Build", f"{side}-dev/build")


@dataclass(frozen=True)
class NodeScenario:
    make: Callable[[World, str], Awaitable[str]]  # an object of the side, by its global ID
    seen: Callable[[Profile, str], bool]  # whether the rules show it to this actor, as where it is listed


# Each is shown by node(id:) exactly where its lists show it: a build or deploy to whoever sees its app
# (`app { builds }`, `pipeline { deploys }`), a review app to whoever sees its pipeline (`pipeline { reviewApps }`).
NODES: dict[str, NodeScenario] = {
    "Build": NodeScenario(_the_build, lambda profile, side: bool(profile.permissions_on(side))),
    "Deploy": NodeScenario(_a_deploy, lambda profile, side: bool(profile.permissions_on(side))),
    "ReviewApp": NodeScenario(_a_review_app, lambda profile, side: bool(profile.pipeline_rights(side))),
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("node_type", NODES)
async def test_node_shows_what_the_rules_let_the_actor_see(
    client: httpx.AsyncClient, settings: Any, node_type: str, actor: str
) -> None:
    # given the world and an object of each side
    world = await build_world()
    ids = {side: await NODES[node_type].make(world, side) for side in (PERSONAL, TEAM)}
    own = PROFILES[actor].side if actor != ANONYMOUS else PERSONAL

    # when the actor asks for both by global ID
    answers = {
        side: await post(client, world, actor, "query($id: ID!) { node(id: $id) { id } }", {"id": node_id})
        for side, node_id in ids.items()
    }

    # then each shows exactly where the rules let it see the object, and without a token nothing at all
    for side, response in answers.items():
        if actor == ANONYMOUS:
            assert response.status_code == 401
            continue
        body = response.json()
        assert not body.get("errors"), body
        shown = {"id": ids[side]} if NODES[node_type].seen(PROFILES[actor], side) else None
        assert body["data"]["node"] == shown, f"{actor} on the {side} side ({own})"
