"""Pipelines: create (stage guessed as Heroku's CLI does), rename, destroy, couple, move; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import ADD_APP_TO_PIPELINE, CREATE_PIPELINE, add_app, create_app, create_pipeline

PIPELINE_BY_NAME = """
query($name: String!) {
  pipeline(name: $name) {
    id name owner { ... on User { email } }
    stages { name apps { name stage pipeline { name } } }
    apps { name }
  }
}"""

PIPELINE_BY_ID = """
query($id: ID!) { pipeline(id: $id) { id name } }"""

PIPELINES = """
query($first: Int, $after: String) {
  pipelines(first: $first, after: $after) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""

APP = """
query($name: String!) { app(name: $name) { name stage pipeline { name } } }"""

RENAME = """
mutation($input: RenamePipelineInput!) {
  renamePipeline(input: $input) { pipeline { id name } userErrors { field message code } }
}"""

DESTROY = """
mutation($input: DestroyPipelineInput!) {
  destroyPipeline(input: $input) { destroyedPipelineId userErrors { field message code } }
}"""

REMOVE = """
mutation($input: RemoveAppFromPipelineInput!) {
  removeAppFromPipeline(input: $input) {
    pipeline { name apps { name } } app { name stage pipeline { name } } userErrors { field message code }
  }
}"""

MOVE = """
mutation($input: MoveAppToStageInput!) {
  moveAppToStage(input: $input) { pipeline { name } app { name stage } userErrors { field message code } }
}"""

WORLD = """
query {
  pipelines(first: 100) { edges { node { name stages { name apps { name } } } } }
  apps(first: 100) { edges { node { name stage pipeline { name } } } }
}"""

STAGES = ["REVIEW", "DEVELOPMENT", "STAGING", "PRODUCTION"]


async def world(gql: GraphQLClient) -> dict[str, Any]:
    """Everything a refusal could have changed."""
    return await gql(WORLD)


def stage_of(pipeline: dict[str, Any], app: str) -> str | None:
    for stage in pipeline["stages"]:
        if app in [a["name"] for a in stage["apps"]]:
            name: str = stage["name"]
            return name
    return None


async def the_pipeline(gql: GraphQLClient, name: str) -> dict[str, Any] | None:
    pipeline: dict[str, Any] | None = (await gql(PIPELINE_BY_NAME, {"name": name}))["pipeline"]
    return pipeline


# --- createPipeline -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "stage"),
    [
        ("shop-dev", "DEVELOPMENT"),
        ("shop-development", "DEVELOPMENT"),
        ("shop-uat", "DEVELOPMENT"),
        ("shop-tst", "DEVELOPMENT"),
        ("shop-test", "DEVELOPMENT"),
        ("shop-qa", "DEVELOPMENT"),
        ("shop-stg", "STAGING"),
        ("shop-staging", "STAGING"),
        ("shop-prd", "PRODUCTION"),
        ("shop-prod", "PRODUCTION"),
        ("shop-production", "PRODUCTION"),
        ("shop-admin", "PRODUCTION"),
        ("shop-demo", "PRODUCTION"),
        ("shop", "PRODUCTION"),
        ("shopdev", "PRODUCTION"),
        ("shop-dev2", "PRODUCTION"),
        ("shop-review", "PRODUCTION"),
        ("dev-shop", "PRODUCTION"),
    ],
)
async def test_create_pipeline_infers_the_stage_from_the_app_suffix(
    gql: GraphQLClient, viewer: Actor, app: str, stage: str
) -> None:
    # given a loose app
    await create_app(gql, name=app)

    # when a pipeline is created around it without a stage
    created = await create_pipeline(gql, name="shop-pipe", app=app)

    # then the app sits in the stage Heroku's CLI would guess, and the viewer owns the pipeline
    pipeline = await the_pipeline(gql, "shop-pipe")
    assert pipeline is not None
    assert pipeline["id"] == created["id"]
    assert stage_of(pipeline, app) == stage
    assert pipeline["owner"] == {"email": viewer.user.email}
    assert (await gql(APP, {"name": app}))["app"] == {"name": app, "stage": stage, "pipeline": {"name": "shop-pipe"}}


@pytest.mark.parametrize(
    ("given", "stage"),
    [
        ("staging", "STAGING"),
        ("STAGING", "STAGING"),
        ("Staging", "STAGING"),
        ("review", "REVIEW"),
        ("development", "DEVELOPMENT"),
        ("PRODUCTION", "PRODUCTION"),
    ],
)
async def test_create_pipeline_with_an_explicit_stage_in_any_case(gql: GraphQLClient, given: str, stage: str) -> None:
    # given an app whose name suggests development
    await create_app(gql, name="shop-dev")

    # when the pipeline is created with an explicit stage
    await create_pipeline(gql, name="shop", app="shop-dev", stage=given)

    # then the explicit stage wins over the guess
    pipeline = await the_pipeline(gql, "shop")
    assert pipeline is not None
    assert stage_of(pipeline, "shop-dev") == stage


async def test_stages_always_lists_the_four_stages_in_order(gql: GraphQLClient) -> None:
    # given a pipeline with a single app in staging
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging")

    # when its stages are read
    pipeline = await the_pipeline(gql, "shop")

    # then all four stages are there, in delivery order, empty ones included
    assert pipeline is not None
    assert [stage["name"] for stage in pipeline["stages"]] == STAGES
    assert [[app["name"] for app in stage["apps"]] for stage in pipeline["stages"]] == [[], [], ["shop-staging"], []]
    assert pipeline["apps"] == [{"name": "shop-staging"}]


async def test_stage_apps_are_sorted_by_name_and_resolve_back(gql: GraphQLClient) -> None:
    # given a pipeline with three production apps added out of order
    for name in ["web-c", "web-a", "web-b"]:
        await create_app(gql, name=name)
    await create_pipeline(gql, name="web", app="web-c")
    await add_app(gql, pipeline="web", app="web-a", stage="production")
    await add_app(gql, pipeline="web", app="web-b", stage="production")

    # when the pipeline is read
    pipeline = await the_pipeline(gql, "web")

    # then production lists them by name, each pointing back at its pipeline and stage
    assert pipeline is not None
    production = pipeline["stages"][3]["apps"]
    assert [app["name"] for app in production] == ["web-a", "web-b", "web-c"]
    assert all(app["stage"] == "PRODUCTION" and app["pipeline"] == {"name": "web"} for app in production)


@pytest.mark.parametrize(
    ("input_", "code", "field"),
    [
        ({"name": "Bad Name", "app": "shop-dev"}, "INVALID_NAME", "name"),
        ({"name": "ab", "app": "shop-dev"}, "INVALID_NAME", "name"),
        ({"name": "fresh", "app": "shop-dev", "stage": "qa"}, "INVALID_STAGE", "stage"),
        ({"name": "fresh", "app": "shop-dev", "stage": "test"}, "INVALID_STAGE", "stage"),
        ({"name": "fresh", "app": "shop-dev", "stage": ""}, "INVALID_STAGE", "stage"),
        ({"name": "fresh", "app": "ghost"}, "NOT_FOUND", "app"),
        ({"name": "taken", "app": "shop-dev"}, "NAME_TAKEN", "name"),
        ({"name": "fresh", "app": "in-taken"}, "APP_ALREADY_IN_PIPELINE", "app"),
    ],
)
async def test_create_pipeline_refusals_change_nothing(
    gql: GraphQLClient, input_: dict[str, str], code: str, field: str
) -> None:
    # given a loose app, and a pipeline "taken" holding another app
    await create_app(gql, name="shop-dev")
    await create_app(gql, name="in-taken")
    await create_pipeline(gql, name="taken", app="in-taken")
    before = await world(gql)

    # when a pipeline is created with one bad part
    data = await gql(CREATE_PIPELINE, {"input": input_})

    # then it is refused with the code on the field at fault, and nothing changed
    payload = data["createPipeline"]
    assert payload["pipeline"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert await world(gql) == before


async def test_app_already_in_a_pipeline_names_that_pipeline(gql: GraphQLClient) -> None:
    # given an app in pipeline "shop"
    await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is used to start another pipeline
    data = await gql(CREATE_PIPELINE, {"input": {"name": "other", "app": "shop-dev"}})

    # then the message says where the app is and what to do
    [error] = data["createPipeline"]["userErrors"]
    assert "shop" in error["message"]
    assert "development" in error["message"]
    assert "remove it" in error["message"]
    assert await the_pipeline(gql, "other") is None


async def test_a_null_stage_is_guessed(gql: GraphQLClient) -> None:
    # given an app named like a staging app
    await create_app(gql, name="shop-stg")

    # when a pipeline is created with an explicit null stage (an empty string is refused above)
    data = await gql(CREATE_PIPELINE, {"input": {"name": "shop", "app": "shop-stg", "stage": None}})

    # then the stage is guessed from the name
    assert data["createPipeline"]["userErrors"] == []
    pipeline = await the_pipeline(gql, "shop")
    assert pipeline is not None
    assert stage_of(pipeline, "shop-stg") == "STAGING"


# --- look-ups -----------------------------------------------------------------------------------------------------


async def test_pipeline_by_id_and_by_name(gql: GraphQLClient) -> None:
    # given a pipeline
    await create_app(gql, name="shop-dev")
    created = await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is read by its global ID, and an app's ID or an unknown name is used instead
    by_id = await gql(PIPELINE_BY_ID, {"id": created["id"]})
    app_id = (await gql('query { app(name: "shop-dev") { id } }'))["app"]["id"]
    by_app_id = await gql(PIPELINE_BY_ID, {"id": app_id})
    unknown = await gql(PIPELINE_BY_NAME, {"name": "ghost"})

    # then the ID finds it, and the others are null
    assert by_id["pipeline"] == {"id": created["id"], "name": "shop"}
    assert by_app_id["pipeline"] is None
    assert unknown["pipeline"] is None


@pytest.mark.parametrize(
    "query",
    [
        "query { pipeline { name } }",
        'query($id: ID!) { pipeline(name: "shop", id: $id) { name } }',
    ],
)
async def test_pipeline_needs_exactly_one_of_name_or_id(gql: GraphQLClient, query: str) -> None:
    # given a pipeline
    await create_app(gql, name="shop-dev")
    created = await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is asked for with neither or both keys
    body = await gql.raw(query, {"id": created["id"]} if "$id" in query else None)

    # then the error says so (a client mistake, not masked)
    assert body["errors"][0]["message"] == "pipeline needs exactly one of `name` or `id`"


async def test_pipelines_connection_pages_by_name(gql: GraphQLClient) -> None:
    # given three pipelines
    for name in ["gamma", "alpha", "beta"]:
        await create_app(gql, name=f"{name}-app")
        await create_pipeline(gql, name=name, app=f"{name}-app")

    # when they are paged two at a time
    first = (await gql(PIPELINES, {"first": 2}))["pipelines"]
    second = (await gql(PIPELINES, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["pipelines"]

    # then the pages follow name order
    assert [edge["node"]["name"] for edge in first["edges"]] == ["alpha", "beta"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["name"] for edge in second["edges"]] == ["gamma"]
    assert second["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": second["edges"][0]["cursor"],
    }


async def test_a_cursor_of_apps_is_refused_by_pipelines(gql: GraphQLClient) -> None:
    # given a cursor from the apps list
    await create_app(gql, name="shop")
    apps = await gql("query { apps(first: 1) { pageInfo { endCursor } } }")

    # when it is given to pipelines
    body = await gql.raw(PIPELINES, {"after": apps["apps"]["pageInfo"]["endCursor"]})

    # then it is a clear error
    assert "not a cursor of this list" in body["errors"][0]["message"]


# --- renamePipeline -----------------------------------------------------------------------------------------------


async def test_rename_pipeline(gql: GraphQLClient) -> None:
    # given a pipeline with an app
    await create_app(gql, name="shop-dev")
    created = await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is renamed
    data = await gql(RENAME, {"input": {"pipeline": "shop", "name": "store"}})

    # then it keeps its ID and app under the new name, and the old name is free
    assert data["renamePipeline"] == {"pipeline": {"id": created["id"], "name": "store"}, "userErrors": []}
    assert await the_pipeline(gql, "shop") is None
    renamed = await the_pipeline(gql, "store")
    assert renamed is not None
    assert renamed["apps"] == [{"name": "shop-dev"}]
    assert (await gql(APP, {"name": "shop-dev"}))["app"]["pipeline"] == {"name": "store"}


async def test_rename_pipeline_to_its_own_name_is_a_no_op(gql: GraphQLClient) -> None:
    # given a pipeline
    await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is renamed to the name it has
    data = await gql(RENAME, {"input": {"pipeline": "shop", "name": "shop"}})

    # then that is fine
    assert data["renamePipeline"]["userErrors"] == []
    assert data["renamePipeline"]["pipeline"]["name"] == "shop"


@pytest.mark.parametrize(
    ("input_", "code", "field"),
    [
        ({"pipeline": "shop", "name": "blog"}, "NAME_TAKEN", "name"),
        ({"pipeline": "shop", "name": "Not Valid"}, "INVALID_NAME", "name"),
        ({"pipeline": "ghost", "name": "fresh"}, "NOT_FOUND", "pipeline"),
    ],
)
async def test_rename_pipeline_refusals_change_nothing(
    gql: GraphQLClient, input_: dict[str, str], code: str, field: str
) -> None:
    # given two pipelines
    for name in ("shop", "blog"):
        await create_app(gql, name=f"{name}-app")
        await create_pipeline(gql, name=name, app=f"{name}-app")
    before = await world(gql)

    # when a rename is refused
    data = await gql(RENAME, {"input": input_})

    # then it says why and nothing changed
    [error] = data["renamePipeline"]["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert await world(gql) == before


# --- destroyPipeline ----------------------------------------------------------------------------------------------


async def test_destroy_pipeline_keeps_its_apps_loose(gql: GraphQLClient) -> None:
    # given a pipeline with two apps, and another pipeline that must not be touched
    for name in ["shop-dev", "shop-prod", "blog"]:
        await create_app(gql, name=name)
    created = await create_pipeline(gql, name="shop", app="shop-dev")
    await add_app(gql, pipeline="shop", app="shop-prod", stage="production")
    await create_pipeline(gql, name="blog-pipe", app="blog")

    # when the first pipeline is destroyed
    data = await gql(DESTROY, {"input": {"pipeline": "shop"}})

    # then it is gone, its apps stay as loose apps, and the other pipeline is intact
    assert data["destroyPipeline"] == {"destroyedPipelineId": created["id"], "userErrors": []}
    assert await the_pipeline(gql, "shop") is None
    assert (await gql(PIPELINE_BY_ID, {"id": created["id"]}))["pipeline"] is None
    for name in ["shop-dev", "shop-prod"]:
        assert (await gql(APP, {"name": name}))["app"] == {"name": name, "stage": None, "pipeline": None}
    loose = await gql("query { apps(inPipeline: false) { edges { node { name } } } }")
    assert [edge["node"]["name"] for edge in loose["apps"]["edges"]] == ["shop-dev", "shop-prod"]
    other = await the_pipeline(gql, "blog-pipe")
    assert other is not None
    assert other["apps"] == [{"name": "blog"}]
    # and a loose app can start a new pipeline
    await create_pipeline(gql, name="shop", app="shop-prod")


async def test_destroy_pipeline_by_global_id(gql: GraphQLClient) -> None:
    # given a pipeline known by its ID
    await create_app(gql, name="shop-dev")
    created = await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is destroyed through the ID
    data = await gql(DESTROY, {"input": {"pipeline": created["id"]}})

    # then it is gone
    assert data["destroyPipeline"]["userErrors"] == []
    assert await the_pipeline(gql, "shop") is None


async def test_destroy_unknown_pipeline(gql: GraphQLClient) -> None:
    # when an unknown pipeline is destroyed
    data = await gql(DESTROY, {"input": {"pipeline": "ghost"}})

    # then it is NOT_FOUND
    assert data["destroyPipeline"] == {
        "destroyedPipelineId": None,
        "userErrors": [{"field": "pipeline", "message": "pipeline ghost not found", "code": "NOT_FOUND"}],
    }


# --- addAppToPipeline ---------------------------------------------------------------------------------------------


async def test_add_app_to_pipeline_by_names_and_by_global_ids(gql: GraphQLClient) -> None:
    # given a pipeline and two loose apps
    await create_app(gql, name="shop-dev")
    pipeline = await create_pipeline(gql, name="shop", app="shop-dev")
    await create_app(gql, name="shop-staging")
    prod = await create_app(gql, name="shop-prod")

    # when one is added by names and the other by global IDs
    by_name = await gql(ADD_APP_TO_PIPELINE, {"input": {"pipeline": "shop", "app": "shop-staging", "stage": "staging"}})
    by_id = await gql(
        ADD_APP_TO_PIPELINE, {"input": {"pipeline": pipeline["id"], "app": prod["id"], "stage": "PRODUCTION"}}
    )

    # then both are in their stages, and the payloads say so
    assert by_name["addAppToPipeline"] == {
        "pipeline": {"name": "shop"},
        "app": {"name": "shop-staging", "stage": "STAGING"},
        "userErrors": [],
    }
    assert by_id["addAppToPipeline"]["app"] == {"name": "shop-prod", "stage": "PRODUCTION"}
    read = await the_pipeline(gql, "shop")
    assert read is not None
    assert [[app["name"] for app in stage["apps"]] for stage in read["stages"]] == [
        [],
        ["shop-dev"],
        ["shop-staging"],
        ["shop-prod"],
    ]


@pytest.mark.parametrize(
    ("input_", "code", "field"),
    [
        ({"pipeline": "shop", "app": "blog", "stage": "staging"}, "APP_ALREADY_IN_PIPELINE", "app"),
        ({"pipeline": "shop", "app": "shop-dev", "stage": "staging"}, "APP_ALREADY_IN_PIPELINE", "app"),
        ({"pipeline": "shop", "app": "loose", "stage": "canary"}, "INVALID_STAGE", "stage"),
        ({"pipeline": "shop", "app": "loose", "stage": "test"}, "INVALID_STAGE", "stage"),
        ({"pipeline": "shop", "app": "ghost", "stage": "staging"}, "NOT_FOUND", "app"),
        ({"pipeline": "ghost", "app": "loose", "stage": "staging"}, "NOT_FOUND", "pipeline"),
    ],
)
async def test_add_app_to_pipeline_refusals_change_nothing(
    gql: GraphQLClient, input_: dict[str, str], code: str, field: str
) -> None:
    # given pipeline shop with shop-dev, pipeline blog-pipe with blog, and a loose app
    for name in ["shop-dev", "blog", "loose"]:
        await create_app(gql, name=name)
    await create_pipeline(gql, name="shop", app="shop-dev")
    await create_pipeline(gql, name="blog-pipe", app="blog")
    before = await world(gql)

    # when an add is refused
    data = await gql(ADD_APP_TO_PIPELINE, {"input": input_})

    # then the code names the problem and nothing changed
    payload = data["addAppToPipeline"]
    assert payload["app"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert await world(gql) == before


async def test_unknown_stage_message_lists_the_valid_stages(gql: GraphQLClient) -> None:
    # given a pipeline and a loose app
    await create_app(gql, name="shop-dev")
    await create_app(gql, name="loose")
    await create_pipeline(gql, name="shop", app="shop-dev")

    # when the app is added to a stage that does not exist
    data = await gql(ADD_APP_TO_PIPELINE, {"input": {"pipeline": "shop", "app": "loose", "stage": "canary"}})

    # then the message names the stage and the valid ones
    [error] = data["addAppToPipeline"]["userErrors"]
    assert "'canary'" in error["message"]
    assert "REVIEW, DEVELOPMENT, STAGING, PRODUCTION" in error["message"]


# --- removeAppFromPipeline / moveAppToStage -----------------------------------------------------------------------


async def test_remove_app_from_pipeline(gql: GraphQLClient) -> None:
    # given a pipeline with two apps
    await create_app(gql, name="shop-dev")
    await create_app(gql, name="shop-prod")
    await create_pipeline(gql, name="shop", app="shop-dev")
    await add_app(gql, pipeline="shop", app="shop-prod", stage="production")

    # when one is removed
    data = await gql(REMOVE, {"input": {"app": "shop-prod"}})

    # then it is loose, the pipeline keeps the other one
    assert data["removeAppFromPipeline"] == {
        "pipeline": {"name": "shop", "apps": [{"name": "shop-dev"}]},
        "app": {"name": "shop-prod", "stage": None, "pipeline": None},
        "userErrors": [],
    }
    assert (await gql(APP, {"name": "shop-prod"}))["app"]["pipeline"] is None


async def test_remove_the_last_app_leaves_an_empty_pipeline(gql: GraphQLClient) -> None:
    # given a pipeline with one app
    await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev")

    # when that app is removed
    await gql(REMOVE, {"input": {"app": "shop-dev"}})

    # then the pipeline remains, with four empty stages
    pipeline = await the_pipeline(gql, "shop")
    assert pipeline is not None
    assert [stage["apps"] for stage in pipeline["stages"]] == [[], [], [], []]


@pytest.mark.parametrize(("app", "code"), [("loose", "APP_NOT_IN_PIPELINE"), ("ghost", "NOT_FOUND")])
async def test_remove_app_refusals(gql: GraphQLClient, app: str, code: str) -> None:
    # given a loose app
    await create_app(gql, name="loose")
    before = await world(gql)

    # when an app not in a pipeline (or not at all) is removed
    data = await gql(REMOVE, {"input": {"app": app}})

    # then it is refused
    [error] = data["removeAppFromPipeline"]["userErrors"]
    assert (error["code"], error["field"]) == (code, "app")
    assert await world(gql) == before


async def test_move_app_to_stage(gql: GraphQLClient) -> None:
    # given an app in development, known by its global ID
    app = await create_app(gql, name="shop-dev")
    await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is moved to staging through its ID
    data = await gql(MOVE, {"input": {"app": app["id"], "stage": "Staging"}})

    # then it is in staging, still in its pipeline
    assert data["moveAppToStage"] == {
        "pipeline": {"name": "shop"},
        "app": {"name": "shop-dev", "stage": "STAGING"},
        "userErrors": [],
    }
    pipeline = await the_pipeline(gql, "shop")
    assert pipeline is not None
    assert stage_of(pipeline, "shop-dev") == "STAGING"


@pytest.mark.parametrize(
    ("input_", "code", "field"),
    [
        ({"app": "shop-dev", "stage": "nowhere"}, "INVALID_STAGE", "stage"),
        ({"app": "loose", "stage": "staging"}, "APP_NOT_IN_PIPELINE", "app"),
        ({"app": "ghost", "stage": "staging"}, "NOT_FOUND", "app"),
    ],
)
async def test_move_app_refusals_change_nothing(
    gql: GraphQLClient, input_: dict[str, str], code: str, field: str
) -> None:
    # given an app in a pipeline and a loose one
    await create_app(gql, name="shop-dev")
    await create_app(gql, name="loose")
    await create_pipeline(gql, name="shop", app="shop-dev")
    before = await world(gql)

    # when a move is refused
    data = await gql(MOVE, {"input": input_})

    # then it says why and nothing changed
    [error] = data["moveAppToStage"]["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert await world(gql) == before


async def test_pipeline_global_id_given_as_an_app_is_not_found(gql: GraphQLClient) -> None:
    # given a pipeline's global ID
    await create_app(gql, name="shop-dev")
    pipeline = await create_pipeline(gql, name="shop", app="shop-dev")

    # when it is passed where an app is expected
    data = await gql(MOVE, {"input": {"app": pipeline["id"], "stage": "staging"}})

    # then no app matches it
    [error] = data["moveAppToStage"]["userErrors"]
    assert error["code"] == "NOT_FOUND"


async def test_create_and_rename_pipeline_by_global_ids(gql: GraphQLClient) -> None:
    # given an app known by its global ID
    app = await create_app(gql, name="shop-qa")

    # when a pipeline is created around the app's ID, then renamed through the pipeline's ID
    created = await create_pipeline(gql, name="shop", app=app["id"])
    renamed = await gql(RENAME, {"input": {"pipeline": created["id"], "name": "store"}})

    # then both reached the right objects
    assert renamed["renamePipeline"] == {"pipeline": {"id": created["id"], "name": "store"}, "userErrors": []}
    pipeline = await the_pipeline(gql, "store")
    assert pipeline is not None
    assert stage_of(pipeline, "shop-qa") == "DEVELOPMENT"
