"""Releases: v1, v2, v3 with no gaps and exactly one current, even when many are made at once.

Only slugs without a `release` process type here: the release phase belongs to promotions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.clients import GraphQLClient
from tests.support.factories import CREATE_RELEASE, CREATE_SLUG, checksum_of, create_app, create_slug, deploy, tarball

APP_RELEASES = """
query($name: String!) {
  app(name: $name) {
    currentRelease { version status current description }
    releases(first: 100) { edges { node { version status current description slug { commit } } } }
  }
}"""


async def releases_of(gql: GraphQLClient, app: str) -> list[dict[str, Any]]:
    data = await gql(APP_RELEASES, {"name": app})
    return [edge["node"] for edge in data["app"]["releases"]["edges"]]


async def test_releases_are_numbered_without_gaps_and_one_is_current(gql: GraphQLClient) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when three slugs are released one after another
    made = [await deploy(gql, app="shop", commit=f"c0ffee{n}") for n in range(1, 4)]

    # then they are v1, v2, v3, each SUCCEEDED at once, and only the newest is current
    assert [release["version"] for release in made] == [1, 2, 3]
    assert all(release["status"] == "SUCCEEDED" for release in made)
    listed = await releases_of(gql, "shop")
    assert [release["version"] for release in listed] == [3, 2, 1]
    assert [release["current"] for release in listed] == [True, False, False]
    assert [release["slug"]["commit"] for release in listed] == ["c0ffee3", "c0ffee2", "c0ffee1"]
    current = (await gql(APP_RELEASES, {"name": "shop"}))["app"]["currentRelease"]
    assert current["version"] == 3


async def test_release_description_defaults_from_the_commit(gql: GraphQLClient) -> None:
    # given an uploaded slug
    await create_app(gql, name="shop")
    slug = await create_slug(gql, app="shop", data=tarball(), commit="9f2c1e0aa1b2")

    # when it is released without and then with a description
    plain = await gql(CREATE_RELEASE, {"input": {"app": "shop", "slug": slug["slug"]["id"]}})
    described = await gql(
        CREATE_RELEASE, {"input": {"app": "shop", "slug": slug["slug"]["id"], "description": "Checkout v1"}}
    )

    # then the first says which commit it deploys, the second keeps the words given
    assert plain["createRelease"]["release"]["description"] == "Deploy 9f2c1e0a"
    assert described["createRelease"]["release"]["description"] == "Checkout v1"
    assert described["createRelease"]["release"]["version"] == 2


async def test_release_of_another_apps_slug_is_refused(gql: GraphQLClient) -> None:
    # given a slug uploaded for shop, and a second app blog with one release
    await create_app(gql, name="shop")
    await create_app(gql, name="blog")
    slug = await create_slug(gql, app="shop", data=tarball())
    await deploy(gql, app="blog")

    # when blog is released with shop's slug
    data = await gql(CREATE_RELEASE, {"input": {"app": "blog", "slug": slug["slug"]["id"]}})

    # then it is refused and blog keeps its only release
    payload = data["createRelease"]
    assert payload["release"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "SLUG_OF_ANOTHER_APP"
    assert error["field"] == "slug"
    assert [release["version"] for release in await releases_of(gql, "blog")] == [1]


async def test_release_of_a_slug_not_uploaded_is_refused(gql: GraphQLClient) -> None:
    # given a slug that was declared but never uploaded
    await create_app(gql, name="shop")

    data = tarball()
    declared = await gql(
        CREATE_SLUG,
        {"input": {"app": "shop", "checksum": checksum_of(data), "processTypes": {"web": "./bin/web"}}},
    )
    slug_id = declared["createSlug"]["slug"]["id"]

    # when it is released
    result = await gql(CREATE_RELEASE, {"input": {"app": "shop", "slug": slug_id}})

    # then it is refused with a hint, no release exists and no version was used up
    [error] = result["createRelease"]["userErrors"]
    assert error["code"] == "SLUG_NOT_UPLOADED"
    assert "uploadUrl" in error["message"]
    assert await releases_of(gql, "shop") == []
    assert (await deploy(gql, app="shop"))["version"] == 1


async def test_release_with_an_unknown_slug_or_app(gql: GraphQLClient) -> None:
    # given an app with an uploaded slug
    app = await create_app(gql, name="shop")
    slug = await create_slug(gql, app="shop", data=tarball())

    # when a release names a slug that does not exist, an app id instead of a slug id, or an unknown app
    ghost_slug = await gql(CREATE_RELEASE, {"input": {"app": "shop", "slug": "nope"}})
    wrong_kind = await gql(CREATE_RELEASE, {"input": {"app": "shop", "slug": app["id"]}})
    ghost_app = await gql(CREATE_RELEASE, {"input": {"app": "ghost", "slug": slug["slug"]["id"]}})

    # then each is NOT_FOUND on its field
    assert [e["code"] for e in ghost_slug["createRelease"]["userErrors"]] == ["NOT_FOUND"]
    assert [e["field"] for e in ghost_slug["createRelease"]["userErrors"]] == ["slug"]
    assert [e["code"] for e in wrong_kind["createRelease"]["userErrors"]] == ["NOT_FOUND"]
    assert ghost_app["createRelease"]["userErrors"] == [
        {"field": "app", "message": "app ghost not found", "code": "NOT_FOUND"}
    ]


async def test_release_by_app_global_id(gql: GraphQLClient) -> None:
    # given an app known by its global ID
    app = await create_app(gql, name="shop")
    slug = await create_slug(gql, app="shop", data=tarball())

    # when it is released through that ID
    data = await gql(CREATE_RELEASE, {"input": {"app": app["id"], "slug": slug["slug"]["id"]}})

    # then the release lands on that app
    assert data["createRelease"]["release"]["version"] == 1
    assert [release["version"] for release in await releases_of(gql, "shop")] == [1]


async def test_concurrent_releases_into_one_app_have_no_gaps(gql: GraphQLClient) -> None:
    # given an app with ten uploaded slugs
    await create_app(gql, name="shop")
    slugs = [await create_slug(gql, app="shop", data=tarball({"n": str(n)}), commit=f"c{n}") for n in range(10)]

    # when all ten are released at the same time
    results = await asyncio.gather(
        *(gql(CREATE_RELEASE, {"input": {"app": "shop", "slug": slug["slug"]["id"]}}) for slug in slugs)
    )

    # then every one succeeded, versions are exactly 1..10, and exactly one is current: the last version
    assert all(result["createRelease"]["userErrors"] == [] for result in results)
    versions = sorted(result["createRelease"]["release"]["version"] for result in results)
    assert versions == list(range(1, 11))
    listed = await releases_of(gql, "shop")
    assert [release["version"] for release in listed] == list(range(10, 0, -1))
    assert [release["version"] for release in listed if release["current"]] == [10]


async def test_concurrent_releases_into_different_apps_are_independent(gql: GraphQLClient) -> None:
    # given two apps with five slugs each
    for name in ("shop", "blog"):
        await create_app(gql, name=name)
    slugs = {
        name: [await create_slug(gql, app=name, data=tarball({"n": f"{name}{n}"})) for n in range(5)]
        for name in ("shop", "blog")
    }

    # when all are released at once, interleaved
    await asyncio.gather(
        *(
            gql(CREATE_RELEASE, {"input": {"app": name, "slug": slug["slug"]["id"]}})
            for n in range(5)
            for name, app_slugs in slugs.items()
            for slug in [app_slugs[n]]
        )
    )

    # then each app has its own 1..5 and one current
    for name in ("shop", "blog"):
        listed = await releases_of(gql, name)
        assert [release["version"] for release in listed] == [5, 4, 3, 2, 1]
        assert sum(release["current"] for release in listed) == 1


async def test_release_description_too_long_or_with_nul_is_refused(gql: GraphQLClient) -> None:
    # given an uploaded slug
    await create_app(gql, name="shop")
    slug = await create_slug(gql, app="shop", data=tarball())

    # when it is released with a description over 500 characters, or holding a NUL character
    too_long = await gql(
        CREATE_RELEASE, {"input": {"app": "shop", "slug": slug["slug"]["id"], "description": "d" * 501}}
    )
    nul = await gql(CREATE_RELEASE, {"input": {"app": "shop", "slug": slug["slug"]["id"], "description": "a\u0000"}})

    # then both are user errors on the description, and no release (nor version) was made
    assert too_long["createRelease"]["userErrors"] == [
        {"field": "description", "message": "description is longer than 500 characters", "code": "INVALID"}
    ]
    assert nul["createRelease"]["userErrors"][0]["field"] == "description"
    assert await releases_of(gql, "shop") == []
    assert (await deploy(gql, app="shop"))["version"] == 1
