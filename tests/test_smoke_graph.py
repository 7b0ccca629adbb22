from __future__ import annotations

from tests.support.clients import GraphQLClient
from tests.support.factories import add_app, create_app, create_pipeline, deploy

PIPELINE_GRAPH = """
query($name: String!) {
  pipeline(name: $name) {
    name
    stages {
      name
      apps {
        name stack
        currentRelease { version status current slug { commit checksum processTypes } }
        releases(first: 10) { edges { node { version } } pageInfo { hasNextPage } }
      }
    }
  }
}"""


async def test_nested_pipeline_graph_in_one_request(gql: GraphQLClient) -> None:
    # given a pipeline with an app in development and one in production, each deployed
    await create_app(gql, name="shop-dev")
    await create_app(gql, name="shop-prod")
    await create_pipeline(gql, name="shop", app="shop-dev")
    await add_app(gql, pipeline="shop", app="shop-prod", stage="production")
    await deploy(gql, app="shop-dev", commit="aaaa1111")
    await deploy(gql, app="shop-dev", commit="bbbb2222")
    await deploy(gql, app="shop-prod", commit="aaaa1111")

    # when the graph is read
    data = await gql(PIPELINE_GRAPH, {"name": "shop"})

    # then every stage is listed in order and each app shows its current release and history
    stages = data["pipeline"]["stages"]
    assert [stage["name"] for stage in stages] == ["REVIEW", "DEVELOPMENT", "STAGING", "PRODUCTION"]
    assert stages[0]["apps"] == []
    assert stages[2]["apps"] == []
    dev = stages[1]["apps"][0]
    assert dev["name"] == "shop-dev"
    assert dev["currentRelease"]["version"] == 2
    assert dev["currentRelease"]["current"] is True
    assert dev["currentRelease"]["slug"]["commit"] == "bbbb2222"
    assert [edge["node"]["version"] for edge in dev["releases"]["edges"]] == [2, 1]
    assert stages[3]["apps"][0]["currentRelease"]["version"] == 1
