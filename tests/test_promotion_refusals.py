"""Every refused promotion names its problem with a code and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from strawberry import relay

from pipegraph.apps.models import App
from pipegraph.promotions.models import Promotion, PromotionTarget
from pipegraph.promotions.service import MAX_TARGETS
from pipegraph.releases.models import Release
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, deploy
from tests.support.promotion_scene import promote, shop_pipeline
from tests.support.sql import StatementCounter


async def _refused(gql: GraphQLClient, **input: Any) -> dict[str, Any]:
    releases_before = await Release.all().count()
    payload = await promote(gql, **input)
    assert payload["promotion"] is None
    assert await Promotion.all().count() == 0
    assert await PromotionTarget.all().count() == 0
    assert await Release.all().count() == releases_before
    [error] = payload["userErrors"]
    return dict(error)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("shop-review", "Cannot promote shop-review from 'review' stage: name the targets with `to`"),
        ("shop-prod-eu", "Cannot promote shop-prod-eu from 'production' stage: name the targets with `to`"),
    ],
)
async def test_review_or_production_source_needs_explicit_targets(
    gql: GraphQLClient, source: str, message: str
) -> None:
    await shop_pipeline(gql)
    await deploy(gql, app=source)
    error = await _refused(gql, source=source)
    assert error == {"field": "source", "code": "CANNOT_PROMOTE_FROM_STAGE", "message": message}


async def test_no_downstream_apps_names_the_stage(gql: GraphQLClient) -> None:
    await shop_pipeline(gql, production=())
    await deploy(gql, app="shop-staging")
    error = await _refused(gql, source="shop-staging")
    assert error == {
        "field": "source",
        "code": "NO_DOWNSTREAM_APPS",
        "message": "no downstream apps in production stage",
    }


async def test_target_outside_the_pipeline_is_refused(gql: GraphQLClient) -> None:
    await shop_pipeline(gql)
    await create_app(gql, name="loose-app")
    await deploy(gql, app="shop-staging")
    error = await _refused(gql, source="shop-staging", to=["shop-prod-eu", "loose-app"])
    assert error["code"] == "TARGET_NOT_IN_PIPELINE"
    assert error["message"] == "app loose-app is not in the pipeline of shop-staging"


async def test_source_as_its_own_target_is_refused(gql: GraphQLClient) -> None:
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    error = await _refused(gql, source="shop-staging", to=["shop-staging"])
    assert error == {"field": "to", "code": "TARGET_IS_SOURCE", "message": "cannot promote shop-staging to itself"}


async def test_unknown_target_is_refused(gql: GraphQLClient) -> None:
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    error = await _refused(gql, source="shop-staging", to=["no-such-app"])
    assert (error["field"], error["code"]) == ("to", "NOT_FOUND")


async def test_source_without_a_succeeded_release_is_refused(gql: GraphQLClient) -> None:
    await shop_pipeline(gql)
    error = await _refused(gql, source="shop-staging")
    assert error["code"] == "NO_SUCCEEDED_RELEASE"
    assert error["message"] == "app shop-staging has no succeeded release to promote: deploy it first"


async def test_a_chosen_release_that_did_not_succeed_is_refused(gql: GraphQLClient) -> None:
    # given staging's v2 is still pending (its release phase has not run: no worker here)
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging", commit="good0000")
    await deploy(gql, app="shop-staging", commit="next0000", process_types={"web": "x", "release": "true"})
    error = await _refused(gql, source="shop-staging", release="2")
    assert error["code"] == "RELEASE_NOT_SUCCEEDED"
    assert error["message"] == "v2 of shop-staging is pending: only a succeeded release is promoted"


# "²" passes str.isdigit() but not int(); 25 digits overflow BIGINT, 10 the 32-bit version column.
@pytest.mark.parametrize("release", ["v9", "v²", "²", "9" * 25, "v9999999999", "v-1", "v 1"])
async def test_a_chosen_release_that_does_not_exist_is_refused(gql: GraphQLClient, release: str) -> None:
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    error = await _refused(gql, source="shop-staging", release=release)
    assert error == {
        "field": "release",
        "code": "NOT_FOUND",
        "message": f"release of app shop-staging {release} not found",
    }


async def test_source_outside_any_pipeline_is_refused(gql: GraphQLClient) -> None:
    await create_app(gql, name="loose-app")
    await deploy(gql, app="loose-app")
    error = await _refused(gql, source="loose-app")
    assert (error["field"], error["code"]) == ("source", "APP_NOT_IN_PIPELINE")


async def test_an_app_named_many_times_in_to_is_promoted_to_once(gql: GraphQLClient) -> None:
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    payload = await promote(gql, source="shop-staging", to=["shop-prod-eu"] * 5_000)
    assert payload["userErrors"] == []
    assert [target["app"]["name"] for target in payload["promotion"]["targets"]] == ["shop-prod-eu"]


async def test_more_targets_than_a_promotion_takes_are_refused_before_any_lookup(
    gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    names = [f"app-{n}" for n in range(MAX_TARGETS + 1)]
    before = len(sql_statements.statements)
    error = await _refused(gql, source="shop-staging", to=names)
    assert error == {
        "field": "to",
        "code": "INVALID",
        "message": f"`to` names {MAX_TARGETS + 1} apps: a promotion goes to at most {MAX_TARGETS}; "
        "split it into several",
    }
    # a handful of statements (the viewer, the source, its pipeline), not one look-up per name
    assert len(sql_statements.statements) - before < MAX_TARGETS // 4


async def test_of_several_named_targets_the_first_that_names_no_app_is_refused(gql: GraphQLClient) -> None:
    # given a pipeline, and a global ID of an app that was deleted
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    gone = relay.to_base64("App", 999_999)

    # when staging is promoted to a real app, then two that name none
    error = await _refused(gql, source="shop-staging", to=["shop-prod-eu", gone, "no-such-app"])

    # then the refusal names the first of them, by the key its ID holds
    assert error == {"field": "to", "code": "NOT_FOUND", "message": "app #999999 not found"}


async def test_named_targets_are_read_at_once_whatever_their_number(
    gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given a pipeline with six production apps, named by name and by global ID alike
    production = tuple(f"shop-prod-{n}" for n in range(6))
    await shop_pipeline(gql, production=production)
    await deploy(gql, app="shop-staging")
    references = [
        name if n % 2 else relay.to_base64("App", (await App.get(name=name)).id) for n, name in enumerate(production)
    ]

    # when staging is promoted to two of them, then to all six
    counts = []
    for to in (references[:2], references):
        before = len(sql_statements.statements)
        payload = await promote(gql, source="shop-staging", to=to)
        counts.append(len(sql_statements.statements) - before)
        assert payload["userErrors"] == []

    # then six cost the statements of two, and each app is a target
    assert counts[0] == counts[1], counts
    assert sorted(target["app"]["name"] for target in payload["promotion"]["targets"]) == list(production)
