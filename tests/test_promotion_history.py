"""The promotion history of a pipeline, where each promoted release came from, and rollback."""

from __future__ import annotations

from tests.support.clients import GraphQLClient
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline

HISTORY = """
query($after: String) {
  pipeline(name: "shop") {
    promotions(first: 2, after: $after) {
      edges { node { status source { name } sourceRelease { version } targets { app { name } status } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

RELEASES = """
query($name: String!) {
  app(name: $name) {
    releases(first: 10) {
      edges { node { version status current description slug { commit } sourceRelease { version app { name } } } }
    }
  }
}"""

ROLLBACK = """
mutation($input: RollbackInput!) {
  rollback(input: $input) {
    release { version status current description sourceRelease { version } slug { commit } }
    userErrors { field message code }
  }
}"""


async def test_promotions_are_listed_newest_first_page_by_page(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given three promotions: dev to staging, then staging to production twice
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-dev", commit="d1000000")
    await deploy(gql, app="shop-staging", commit="s1000000")
    await promote(gql, source="shop-dev")
    await jobs.drain()
    await promote(gql, source="shop-staging")
    await jobs.drain()
    await promote(gql, source="shop-staging", release="1")
    await jobs.drain()

    # when the history is read two at a time
    first = (await gql(HISTORY))["pipeline"]["promotions"]
    second = (await gql(HISTORY, {"after": first["pageInfo"]["endCursor"]}))["pipeline"]["promotions"]

    # then it is newest first, with what went where and how it ended
    nodes = [edge["node"] for edge in first["edges"] + second["edges"]]
    assert [(n["source"]["name"], n["sourceRelease"]["version"], n["status"]) for n in nodes] == [
        ("shop-staging", 1, "COMPLETED"),
        ("shop-staging", 2, "COMPLETED"),
        ("shop-dev", 1, "COMPLETED"),
    ]
    assert nodes[2]["targets"] == [{"app": {"name": "shop-staging"}, "status": "SUCCEEDED"}]
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False


async def test_app_releases_show_where_promoted_releases_came_from(gql: GraphQLClient, jobs: JobRunner) -> None:
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging", commit="s1000000")
    await promote(gql, source="shop-staging")
    await jobs.drain()

    data = await gql(RELEASES, {"name": "shop-prod-eu"})

    [release] = [edge["node"] for edge in data["app"]["releases"]["edges"]]
    assert release["sourceRelease"] == {"version": 1, "app": {"name": "shop-staging"}}
    assert release["description"] == "Promote shop-staging v1"


async def test_rollback_makes_a_new_release_from_an_earlier_slug(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given v1 and v2 deployed, v2 with a release phase
    await shop_pipeline(gql, production=())
    await deploy(gql, app="shop-staging", commit="good0000")
    await deploy_release_script(gql, app="shop-staging", script="echo migrate\n", commit="newer000")
    await jobs.drain()

    # when rolled back to v1
    data = await gql(ROLLBACK, {"input": {"app": "shop-staging", "version": 1}})

    # then v3 runs v1's slug, says so, and is current; v2 is kept in the history
    payload = data["rollback"]
    assert payload["userErrors"] == []
    assert payload["release"] == {
        "version": 3,
        "status": "SUCCEEDED",
        "current": True,
        "description": "Rollback to v1",
        "sourceRelease": {"version": 1},
        "slug": {"commit": "good0000"},
    }
    versions = await gql(RELEASES, {"name": "shop-staging"})
    assert [edge["node"]["current"] for edge in versions["app"]["releases"]["edges"]] == [True, False, False]


async def test_rollback_to_a_release_with_a_release_phase_runs_it_again(gql: GraphQLClient, jobs: JobRunner) -> None:
    await shop_pipeline(gql, production=())
    await deploy_release_script(gql, app="shop-staging", script="echo migrate\n", commit="phase000")
    await deploy(gql, app="shop-staging", commit="plain000")
    await jobs.drain()

    data = await gql(ROLLBACK, {"input": {"app": "shop-staging", "version": 1}})
    assert data["rollback"]["release"]["status"] == "PENDING"
    await jobs.drain()

    releases = (await gql(RELEASES, {"name": "shop-staging"}))["app"]["releases"]["edges"]
    assert (releases[0]["node"]["version"], releases[0]["node"]["status"], releases[0]["node"]["current"]) == (
        3,
        "SUCCEEDED",
        True,
    )


async def test_rollback_refuses_a_failed_or_missing_release(gql: GraphQLClient, jobs: JobRunner) -> None:
    await shop_pipeline(gql, production=())
    await deploy(gql, app="shop-staging", commit="good0000")
    await deploy_release_script(gql, app="shop-staging", script="exit 1\n", commit="broken00")
    await jobs.drain()

    failed = (await gql(ROLLBACK, {"input": {"app": "shop-staging", "version": 2}}))["rollback"]
    missing = (await gql(ROLLBACK, {"input": {"app": "shop-staging", "version": 7}}))["rollback"]

    assert failed["release"] is None
    assert failed["userErrors"] == [
        {
            "field": "version",
            "code": "RELEASE_NOT_SUCCEEDED",
            "message": "v2 of shop-staging is failed: roll back to a succeeded release",
        }
    ]
    assert (missing["userErrors"][0]["field"], missing["userErrors"][0]["code"]) == ("version", "NOT_FOUND")
    versions = (await gql(RELEASES, {"name": "shop-staging"}))["app"]["releases"]["edges"]
    assert len(versions) == 2
