"""A pipeline's GitHub and CI fields (repository, reviewAppConfig, reviewApps, deliveries, deploys, testRuns,
testRun, stageConfigVars) cost the same SQL statements for one pipeline or many: each comes through its domain's
loader."""

from __future__ import annotations

from typing import Any

import httpx

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.ci.models import TestRun
from pipegraph.github.models import Deploy, RepositoryConnection, WebhookDelivery
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage, StageConfigVars
from pipegraph.reviewapps.models import ReviewApp, ReviewAppConfig, ReviewAppStatus
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.database import truncate_all
from tests.support.sql import StatementCounter

PIPELINES = """
{
  pipelines(first: 100) { edges { node {
    name
    repository { fullName }
    reviewAppConfig { baseName }
    reviewApps { prNumber status }
    allReviewApps: reviewApps(deleted: true) { prNumber }
    deliveries(first: 2) { deliveryId }
    deploys(first: 2) { sha app { name } }
    testRuns(first: 2) { edges { node { number } } }
    testRun(number: 1) { number }
    reviewVars: stageConfigVars(stage: REVIEW)
    testVars: stageConfigVars(stage: TEST)
  } } }
}"""


async def _pipeline(owner: User, index: int) -> None:
    """A connected pipeline with two apps, three review apps (one deleted), three deliveries, three deploys and
    three test runs: more of each than a page of two; REVIEW config vars (TEST ones only on odd pipelines)."""
    pipeline = await Pipeline.create(name=f"line-{index}", owner=owner)
    repository = f"acme/repo-{index}"
    await RepositoryConnection.create(pipeline=pipeline, full_name=repository, webhook_secret="s")
    await ReviewAppConfig.create(pipeline=pipeline, base_name=f"line-{index}")
    await StageConfigVars.create(pipeline=pipeline, stage=Stage.REVIEW, vars={"API_KEY": f"review-{index}"})
    if index % 2:
        await StageConfigVars.create(pipeline=pipeline, stage=Stage.TEST, vars={"CI": "true"})
    apps = []
    for stage in (Stage.STAGING, Stage.PRODUCTION):
        app = await App.create(name=f"line-{index}-{stage.value}", owner=owner, stack="heroku-24", config_vars={})
        await PipelineCoupling.create(pipeline=pipeline, app=app, stage=stage)
        apps.append(app)
    for number, status in ((1, ReviewAppStatus.DELETED), (2, ReviewAppStatus.CREATED), (3, ReviewAppStatus.PENDING)):
        await ReviewApp.create(
            pipeline=pipeline, pr_number=number, app_name=f"line-{index}-pr-{number}", branch="b",
            head_sha="a" * 40, status=status,
        )  # fmt: skip
    for number in range(3):
        await WebhookDelivery.create(delivery_id=f"{index}-{number}", event="push", repository=repository)
        await Deploy.create(
            app=apps[number % 2], repository=repository, branch="main", sha=f"{index}{number}".ljust(40, "0")
        )
        await TestRun.create(pipeline=pipeline, number=number + 1, commit_sha="a" * 40, commit_branch="main")


async def _read(client: httpx.AsyncClient, counter: StatementCounter, count: int) -> tuple[int, dict[str, Any]]:
    await truncate_all()
    actor: Actor = await make_actor()
    for index in range(count):
        await _pipeline(actor.user, index)
    counter.statements.clear()
    data = await GraphQLClient(client, actor)(PIPELINES)
    return len(counter.statements), data


async def test_github_and_ci_fields_cost_the_same_statements_for_1_or_12_pipelines(
    client: httpx.AsyncClient, settings: Any, sql_statements: StatementCounter
) -> None:
    # when the fields are read for one pipeline, then for twelve
    one, _ = await _read(client, sql_statements, 1)
    twelve, data = await _read(client, sql_statements, 12)

    # then the cost is the same
    assert twelve == one, sql_statements.statements
    # and each pipeline got its own rows, newest first, pages cut where asked
    pipelines = [edge["node"] for edge in data["pipelines"]["edges"]]
    assert len(pipelines) == 12
    for node in pipelines:
        index = int(node["name"].removeprefix("line-"))
        assert node["repository"] == {"fullName": f"acme/repo-{index}"}
        assert node["reviewAppConfig"] == {"baseName": f"line-{index}"}
        assert node["reviewApps"] == [{"prNumber": 3, "status": "PENDING"}, {"prNumber": 2, "status": "CREATED"}]
        assert node["allReviewApps"] == [{"prNumber": 3}, {"prNumber": 2}, {"prNumber": 1}]
        assert node["deliveries"] == [{"deliveryId": f"{index}-2"}, {"deliveryId": f"{index}-1"}]
        assert node["deploys"] == [
            {"sha": f"{index}2".ljust(40, "0"), "app": {"name": f"line-{index}-staging"}},
            {"sha": f"{index}1".ljust(40, "0"), "app": {"name": f"line-{index}-production"}},
        ]
        assert node["testRuns"] == {"edges": [{"node": {"number": 3}}, {"node": {"number": 2}}]}
        assert node["testRun"] == {"number": 1}
        assert node["reviewVars"] == {"API_KEY": f"review-{index}"}
        assert node["testVars"] == ({"CI": "true"} if index % 2 else {})
