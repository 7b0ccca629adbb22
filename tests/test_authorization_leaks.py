"""Nothing leaks: not through nested fields, connections, `node(id:)`, refusals' messages, or subscriptions.

The world of tests/support/authz_world.py, plus a finished promotion from p-staging to p-prod and p-prod-2 whose
releases record where they came from. `stranger` has no part in anything; `prod-viewer` may only view p-prod.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest
from strawberry import relay

from pipegraph.access.rules import Permission
from pipegraph.accounts.models import ApiToken
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.ci.models import TestRun
from pipegraph.github.models import Deploy
from pipegraph.pipelines.models import PipelineCoupling, Stage
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus, TargetStep
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.reviewapps.models import ReviewApp
from pipegraph.schema import schema
from tests.support.authz_world import World, build_world, snapshot
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, SubscriptionError, subscribe

SDL = graphql.build_schema(schema.as_str())
NODE_TYPES = sorted(
    name
    for name, type_ in SDL.type_map.items()
    if isinstance(type_, graphql.GraphQLObjectType) and any(i.name == "Node" for i in type_.interfaces)
)

PIPELINE_GRAPH = """
query($name: String!) {
  pipeline(name: $name) {
    name
    stages { name apps { name } }
    apps { name }
    promotions(first: 10) {
      edges { node { source { name } sourceRelease { version } targets { app { name } release { version } } } }
    }
  }
}"""

APP_GRAPH = """
query($name: String!) {
  app(name: $name) {
    name
    pipeline { name apps { name } stages { apps { name } } }
    releases(first: 10) { edges { node { version sourceRelease { version app { name } } } } }
  }
}"""

LISTS = "{ apps(first: 100) { edges { node { name } } } pipelines(first: 100) { edges { node { name } } } }"

NODE = "query($id: ID!) { node(id: $id) { id } }"

PROGRESS = "subscription($id: ID!) { promotionProgress(id: $id) { target { app { name } } status } }"
RELEASE_LOG = "subscription($id: ID!) { releaseLog(releaseId: $id) { number text } }"


@dataclass
class Scene:
    world: World
    prod_viewer: Actor
    nodes: dict[str, str]  # node type → the global ID of one object of that type


async def _scene() -> Scene:
    world = await build_world()
    owner = world.actors["owner"].user
    ids = world.ids
    pipeline_id = ids["p-line"]
    second = await App.create(name="p-prod-2", owner=owner, stack="heroku-24", config_vars={})
    await PipelineCoupling.create(pipeline_id=pipeline_id, app=second, stage=Stage.PRODUCTION)
    promotion = await Promotion.create(
        pipeline_id=pipeline_id,
        source_app_id=ids["p-staging"],
        source_release_id=ids["p-staging/v1"],
        created_by=owner,
        status=PromotionStatus.COMPLETED,
    )
    targets = []
    for app_id in (ids["p-prod"], second.id):
        release = await Release.create(
            app_id=app_id, version=1, status=ReleaseStatus.SUCCEEDED, is_current=True, slug_id=ids["p-staging/slug"],
            description="Promote v1 of p-staging", created_by=owner, source_release_id=ids["p-staging/v1"],
            release_log="migrated\n",
        )  # fmt: skip
        targets.append(
            await PromotionTarget.create(
                promotion=promotion,
                app_id=app_id,
                status=TargetStatus.SUCCEEDED,
                step=TargetStep.DONE,
                release=release,
                sequence=3,
            )  # fmt: skip
        )
    test_run = await TestRun.create(pipeline_id=pipeline_id, number=1, commit_sha="a" * 40, commit_branch="main")
    deploy = await Deploy.create(
        app_id=ids["p-dev"], repository="acme/p", branch="main", sha="b" * 40, message="queued"
    )
    review_app = await ReviewApp.create(
        pipeline_id=pipeline_id, pr_number=7, app_name="p-pr-7", branch="feature", head_sha="c" * 40
    )
    prod_viewer = await make_actor("prod-viewer@example.com")
    await AppCollaborator.create(app_id=ids["p-prod"], user=prod_viewer.user, permissions=[Permission.VIEW.value])

    def gid(type_name: str, key: int) -> str:
        return str(relay.GlobalID(type_name, str(key)))

    nodes = {
        "App": gid("App", ids["p-dev"]),
        "Pipeline": gid("Pipeline", pipeline_id),
        "Slug": gid("Slug", ids["p-dev/slug"]),
        "Build": gid("Build", ids["p-dev/build"]),
        "Release": gid("Release", ids["p-staging/v1"]),
        "Promotion": gid("Promotion", promotion.id),
        "PromotionTarget": gid("PromotionTarget", targets[0].id),
        "User": gid("User", owner.id),
        "Team": gid("Team", ids["crew"]),
        "ApiToken": gid("ApiToken", (await ApiToken.get(user=owner)).id),
        "TestRun": gid("TestRun", test_run.id),
        "Deploy": gid("Deploy", deploy.id),
        "ReviewApp": gid("ReviewApp", review_app.id),
    }
    return Scene(world=world, prod_viewer=prod_viewer, nodes=nodes)


@pytest.fixture
async def scene(settings: Any) -> Scene:
    return await _scene()


def as_(client: httpx.AsyncClient, actor: Actor) -> GraphQLClient:
    return GraphQLClient(client, actor)


async def test_a_stranger_finds_nothing_in_lists_look_ups_or_nested_reads(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    stranger = as_(client, scene.world.actors["stranger"])

    # when a stranger lists, looks up and walks the graph
    lists = await stranger(LISTS)
    pipeline = await stranger(PIPELINE_GRAPH, {"name": "p-line"})
    app = await stranger(APP_GRAPH, {"name": "p-staging"})

    # then nothing of the world shows
    assert lists == {"apps": {"edges": []}, "pipelines": {"edges": []}}
    assert pipeline == {"pipeline": None}
    assert app == {"app": None}


@pytest.mark.parametrize("node_type", NODE_TYPES)
async def test_node_of_every_type_is_null_for_a_stranger_and_found_by_the_owner(
    client: httpx.AsyncClient, scene: Scene, node_type: str
) -> None:
    assert node_type in scene.nodes, f"add an object of the new node type {node_type} to the leak scene"
    node_id = scene.nodes[node_type]

    # when the owner's team admin (for the team) or the owner (for the rest) and a stranger ask for the same node
    insider = scene.world.actors["team-admin" if node_type == "Team" else "owner"]
    found = await as_(client, insider)(NODE, {"id": node_id})
    hidden = await as_(client, scene.world.actors["stranger"])(NODE, {"id": node_id})

    # then only the one with a part in it sees it: to the stranger it is as if it did not exist
    assert found == {"node": {"id": node_id}}
    assert hidden == {"node": None}


async def test_seeing_one_app_shows_its_pipeline_but_no_other_app_of_it(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    viewer = as_(client, scene.prod_viewer)

    # when someone who may only view p-prod reads its pipeline and the app's own graph
    pipeline = (await viewer(PIPELINE_GRAPH, {"name": "p-line"}))["pipeline"]
    app = (await viewer(APP_GRAPH, {"name": "p-prod"}))["app"]
    lists = await viewer(LISTS)

    # then the pipeline shows, with only p-prod in it
    assert pipeline["apps"] == [{"name": "p-prod"}]
    assert {stage["name"]: stage["apps"] for stage in pipeline["stages"]} == {
        "REVIEW": [],
        "DEVELOPMENT": [],
        "STAGING": [],
        "PRODUCTION": [{"name": "p-prod"}],
    }
    # and its promotion shows without the source it cannot see, and with its own target only
    assert [edge["node"] for edge in pipeline["promotions"]["edges"]] == [
        {"source": None, "sourceRelease": None, "targets": [{"app": {"name": "p-prod"}, "release": {"version": 1}}]}
    ]
    # and the app's pipeline shows the same, and its release does not reveal the release it was promoted from
    assert app["pipeline"]["apps"] == [{"name": "p-prod"}]
    assert [stage["apps"] for stage in app["pipeline"]["stages"]] == [[], [], [], [{"name": "p-prod"}]]
    assert app["releases"]["edges"] == [{"node": {"version": 1, "sourceRelease": None}}]
    assert lists == {
        "apps": {"edges": [{"node": {"name": "p-prod"}}]},
        "pipelines": {"edges": [{"node": {"name": "p-line"}}]},
    }
    # and the nodes of what it cannot see are null: the source release, the other target, the owner's team and token
    for node_type, node_id in scene.nodes.items():
        if node_type in ("Pipeline", "Promotion", "PromotionTarget", "ReviewApp", "TestRun", "User"):
            continue  # these it does see (the owner of p-prod, as on Heroku: see test_authorization_users.py)
        assert await viewer(NODE, {"id": node_id}) == {"node": None}, node_type


async def test_a_user_node_shows_to_teammates_and_not_to_outsiders(client: httpx.AsyncClient, scene: Scene) -> None:
    actors = scene.world.actors
    admin_id = str(relay.GlobalID("User", str(actors["team-admin"].user.id)))

    # when a teammate, a team collaborator and an outsider ask for the team admin's user
    member = await as_(client, actors["team-member"])(NODE, {"id": admin_id})
    collaborator = await as_(client, actors["team-collaborator"])(NODE, {"id": admin_id})
    outsider = await as_(client, actors["owner"])(NODE, {"id": admin_id})

    # then those in the team see it and the outsider does not
    assert member == {"node": {"id": admin_id}}
    assert collaborator == {"node": {"id": admin_id}}
    assert outsider == {"node": None}


SET_CONFIG_VARS = """
mutation($app: String!) { setConfigVars(input: {app: $app, vars: {X: "1"}}) { userErrors { field message code } } }"""

PROMOTE = """
mutation($to: [String!]) { promote(input: {source: "p-staging", to: $to}) { userErrors { field message code } } }"""

CREATE_RELEASE = """
mutation($slug: ID!) { createRelease(input: {app: "p-dev", slug: $slug}) { userErrors { field message code } } }"""


REVOKE_API_TOKEN = """
mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { field message code } } }"""


async def test_someone_elses_token_cannot_be_revoked_and_reads_like_a_missing_one(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    owner, stranger = scene.world.actors["owner"], as_(client, scene.world.actors["stranger"])
    token_id = scene.nodes["ApiToken"]
    before = await snapshot()

    # when a stranger tries to revoke the owner's token, and a token that does not exist
    theirs = await stranger(REVOKE_API_TOKEN, {"id": token_id})
    missing = await stranger(REVOKE_API_TOKEN, {"id": _missing("ApiToken")})

    # then both are "not found" alike, nothing changed, and the owner's token still works
    assert theirs["revokeApiToken"]["userErrors"] == [
        {"field": "id", "message": f"API token {token_id} not found", "code": "NOT_FOUND"}
    ]
    assert missing["revokeApiToken"]["userErrors"] == [
        {"field": "id", "message": f"API token {_missing('ApiToken')} not found", "code": "NOT_FOUND"}
    ]
    assert await snapshot() == before
    assert await as_(client, owner)("{ viewer { email } }") == {"viewer": {"email": owner.user.email}}


def _missing(type_name: str) -> str:
    return str(relay.GlobalID(type_name, "999999"))


async def test_refusing_what_one_cannot_see_reads_exactly_like_refusing_what_does_not_exist(
    client: httpx.AsyncClient, scene: Scene
) -> None:
    world = scene.world
    stranger = as_(client, world.actors["stranger"])
    viewer = as_(client, world.actors["collaborator-view"])
    deployer = as_(client, world.actors["collaborator-deploy"])
    hidden_app_id = world.gid("App", "t-dev")
    before = await snapshot()

    async def errors(gql: GraphQLClient, document: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        data = await gql(document, variables)
        result: list[dict[str, Any]] = next(iter(data.values()))["userErrors"]
        return result

    # then by name and by global ID, an invisible app is "not found" under the reference sent, never its name
    assert await errors(stranger, SET_CONFIG_VARS, {"app": "p-dev"}) == [
        {"field": "app", "message": "app p-dev not found", "code": "NOT_FOUND"}
    ]
    by_id = await errors(stranger, SET_CONFIG_VARS, {"app": hidden_app_id})
    missing = await errors(stranger, SET_CONFIG_VARS, {"app": _missing("App")})
    assert by_id == [{"field": "app", "message": f"app #{world.ids['t-dev']} not found", "code": "NOT_FOUND"}]
    assert missing == [{"field": "app", "message": "app #999999 not found", "code": "NOT_FOUND"}]
    # and a promotion to an app of someone else's pipeline is "not found", not "not in the pipeline"
    assert await errors(viewer, PROMOTE, {"to": ["t-prod"]}) == [
        {"field": "to", "message": "app t-prod not found", "code": "NOT_FOUND"}
    ]
    # and a slug of an app one cannot see is "not found", not "of another app"
    hidden_slug = world.gid("Slug", "t-dev/slug")
    assert await errors(deployer, CREATE_RELEASE, {"slug": hidden_slug}) == [
        {"field": "slug", "message": f"slug {hidden_slug} not found", "code": "NOT_FOUND"}
    ]
    # and none of it changed anything
    assert await snapshot() == before


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_subscriptions_refuse_a_stranger_and_hide_targets_one_cannot_see(
    live_server: str, scene: Scene, protocol: str
) -> None:
    stranger = scene.world.actors["stranger"]
    promotion_id, release_id = scene.nodes["Promotion"], scene.nodes["Release"]

    async def collect(actor: Actor, query: str, node_id: str) -> list[dict[str, Any]]:
        init = {"Authorization": f"Bearer {actor.token}"}
        return [
            data async for data in subscribe(live_server, query, {"id": node_id}, protocol=protocol, init_payload=init)
        ]

    # when a stranger follows a promotion and a release log that exist, and ones that do not
    refusals = []
    for query, node_id, missing in ((PROGRESS, promotion_id, "Promotion"), (RELEASE_LOG, release_id, "Release")):
        for target in (node_id, _missing(missing)):
            with pytest.raises(SubscriptionError) as refused:
                await collect(stranger, query, target)
            refusals.append(refused.value.args[0][0]["message"])

    # then each is refused as not found, the existing ones exactly like the missing ones
    key = int(relay.GlobalID.from_id(promotion_id).node_id)
    release_key = int(relay.GlobalID.from_id(release_id).node_id)
    assert refusals == [
        f"promotion {key} not found",
        "promotion 999999 not found",
        f"release {release_key} not found",
        "release 999999 not found",
    ]

    # and someone who sees only p-prod follows the promotion but hears only of p-prod
    progress = await collect(scene.prod_viewer, PROGRESS, promotion_id)
    assert progress == [{"promotionProgress": {"target": {"app": {"name": "p-prod"}}, "status": "SUCCEEDED"}}]
