"""Stage config vars (REVIEW and TEST), settable through the API; and a pipeline whose last app leaves is deleted
after a grace period, unless an app is added back first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.stage_config import delete_empty_pipelines
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app

SET = """
mutation($input: SetStageConfigVarsInput!) {
  setStageConfigVars(input: $input) { vars userErrors { field code message } }
}"""
READ = """
query {
  pipeline(name: "shop") {
    scheduledDeletionAt review: stageConfigVars(stage: REVIEW) test: stageConfigVars(stage: TEST)
  }
}"""
REMOVE = """
mutation {
  removeAppFromPipeline(input: {app: "shop-staging"}) { pipeline { scheduledDeletionAt } userErrors { code } }
}"""
ADD = """
mutation {
  addAppToPipeline(input: {pipeline: "shop", app: "shop-staging", stage: "staging"}) { userErrors { code } }
}"""


async def _pipeline(gql: GraphQLClient) -> None:
    await create_app(gql, name="shop-staging")
    await gql('mutation { createPipeline(input: {name: "shop", app: "shop-staging"}) { userErrors { code } } }')


async def test_review_and_test_stage_vars_are_set_and_removed(gql: GraphQLClient) -> None:
    await _pipeline(gql)

    review = await gql(SET, {"input": {"pipeline": "shop", "stage": "REVIEW", "vars": {"API_KEY": "k", "X": "1"}}})
    test = await gql(SET, {"input": {"pipeline": "shop", "stage": "test", "vars": {"CI": "true"}}})
    removed = await gql(SET, {"input": {"pipeline": "shop", "stage": "REVIEW", "vars": {"X": None}}})
    refused = await gql(SET, {"input": {"pipeline": "shop", "stage": "PRODUCTION", "vars": {"A": "1"}}})

    assert review["setStageConfigVars"]["vars"] == {"API_KEY": "k", "X": "1"}
    assert test["setStageConfigVars"]["vars"] == {"CI": "true"}
    assert removed["setStageConfigVars"]["vars"] == {"API_KEY": "k"}
    assert [error["code"] for error in refused["setStageConfigVars"]["userErrors"]] == ["INVALID_STAGE"]
    data = (await gql(READ))["pipeline"]
    assert (data["review"], data["test"]) == ({"API_KEY": "k"}, {"CI": "true"})


async def test_an_empty_pipeline_is_deleted_after_its_grace_period(gql: GraphQLClient) -> None:
    await _pipeline(gql)

    removed = (await gql(REMOVE))["removeAppFromPipeline"]
    scheduled = datetime.fromisoformat(removed["pipeline"]["scheduledDeletionAt"])

    assert scheduled > datetime.now(UTC) + timedelta(minutes=59)  # the default grace: an hour
    assert await delete_empty_pipelines(datetime.now(UTC)) == 0  # not yet
    assert await delete_empty_pipelines(scheduled + timedelta(seconds=1)) == 1
    assert not await Pipeline.exists(name="shop")


async def test_adding_an_app_back_cancels_the_deletion(gql: GraphQLClient) -> None:
    await _pipeline(gql)
    await gql(REMOVE)

    assert (await gql(ADD))["addAppToPipeline"]["userErrors"] == []

    assert (await gql(READ))["pipeline"]["scheduledDeletionAt"] is None
    assert await delete_empty_pipelines(datetime.now(UTC) + timedelta(days=1)) == 0
    assert await Pipeline.exists(name="shop")
