"""`app { comparison(with:) }` (and the older `compare`): what differs between two apps' deployed code, from their own
git repositories."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.build_scene import PROCFILE_APP
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import create_app
from tests.support.git_scene import commit, git, remote_url, work_tree
from tests.support.promotion_scene import promote, promotion, shop_pipeline

COMPARE = """
query($app: String!, $with: String!) {
  app(name: $app) { compare(with: $with) { commit withCommit ahead behind commits(first: 10) { sha message author } } }
}"""

COMPARISON = """
query($app: String!, $with: String!) {
  app(name: $app) {
    name
    comparison(with: $with) {
      __typename
      ... on AppComparison { ahead behind commits(first: 10) { sha } }
      ... on NotComparable { reason code }
    }
  }
}"""


async def test_compare_counts_and_lists_the_commits_between_two_deployed_apps(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given production running an older commit than staging, each pushed to its own app
    await create_app(gql, name="shop-staging")
    await create_app(gql, name="shop-prod")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP, message="Add checkout")
    old = (await git("rev-parse", "HEAD", cwd=tree)).output.strip()
    assert (await git("push", remote_url(git_server, "shop-prod", viewer.token), "main", cwd=tree)).code == 0
    second = await commit(tree, {"README": "coupons"}, message="Add coupons")
    third = await commit(tree, {"README": "coupons, fixed"}, message="Fix coupons")
    assert (await git("push", remote_url(git_server, "shop-staging", viewer.token), "main", cwd=tree)).code == 0

    # when each is compared with the other
    forward = (await gql(COMPARE, {"app": "shop-staging", "with": "shop-prod"}))["app"]["compare"]
    backward = (await gql(COMPARE, {"app": "shop-prod", "with": "shop-staging"}))["app"]["compare"]

    # then staging is two commits ahead, and prod two behind with nothing of its own
    assert (forward["commit"], forward["withCommit"], forward["ahead"], forward["behind"]) == (third, old, 2, 0)
    assert forward["commits"] == [
        {"sha": third, "message": "Fix coupons", "author": "Ada <ada@example.com>"},
        {"sha": second, "message": "Add coupons", "author": "Ada <ada@example.com>"},
    ]
    assert (backward["ahead"], backward["behind"], backward["commits"]) == (0, 2, [])
    # and comparison, the field that answers even where git cannot tell, says the same
    answer = (await gql(COMPARISON, {"app": "shop-staging", "with": "shop-prod"}))["app"]["comparison"]
    assert answer == {
        "__typename": "AppComparison",
        "ahead": 2,
        "behind": 0,
        "commits": [{"sha": third}, {"sha": second}],
    }


async def test_an_app_without_a_deployed_commit_cannot_be_compared_and_says_so(gql: GraphQLClient) -> None:
    await create_app(gql, name="shop-staging")
    await create_app(gql, name="shop-prod")

    body = await gql.raw(COMPARE, {"app": "shop-staging", "with": "shop-prod"})
    missing = await gql.raw(COMPARE, {"app": "shop-staging", "with": "nope-app"})

    assert body["errors"][0]["message"] == "app shop-staging has no current release built from a git commit"
    assert missing["errors"][0]["message"] == "app nope-app not found"


async def test_comparison_answers_not_comparable_with_the_reason_and_keeps_the_app(gql: GraphQLClient) -> None:
    # given two apps never built from git
    await create_app(gql, name="shop-staging")
    await create_app(gql, name="shop-prod")

    # when they are compared, and with an app that does not exist
    body = await gql.raw(COMPARISON, {"app": "shop-staging", "with": "shop-prod"})
    missing = await gql.raw(COMPARISON, {"app": "shop-staging", "with": "nope-app"})

    # then the answer is "not comparable", with the reason, and no error
    assert "errors" not in body, body
    assert body["data"]["app"] == {
        "name": "shop-staging",
        "comparison": {
            "__typename": "NotComparable",
            "reason": "app shop-staging has no current release built from a git commit",
            "code": "NO_GIT_HISTORY",
        },
    }
    # and a bad `with` is an error on the comparison alone: the app is still there
    assert [(error["message"], error["path"]) for error in missing["errors"]] == [
        ("app nope-app not found", ["app", "comparison"])
    ]
    assert missing["data"]["app"] == {"name": "shop-staging", "comparison": None}


async def test_a_promoted_app_without_a_repository_compares_through_the_app_it_came_from(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given staging pushed twice, and production promoted from staging's first release (never pushed to itself)
    await shop_pipeline(gql, production=("shop-prod",))
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP, message="Add checkout")
    remote = remote_url(git_server, "shop-staging", viewer.token)
    assert (await git("push", remote, "main", cwd=tree)).code == 0
    promoted = await promote(gql, source="shop-staging")
    await _until_promoted(gql, promoted["promotion"]["id"])
    newer = await commit(tree, {"README": "coupons"}, message="Add coupons")
    assert (await git("push", remote, "main", cwd=tree)).code == 0

    # when production is compared with staging
    compared = (await gql(COMPARE, {"app": "shop-prod", "with": "shop-staging"}))["app"]["compare"]

    # then it is one commit behind, read from staging's repository
    assert (compared["ahead"], compared["behind"]) == (0, 1)
    assert compared["withCommit"] == newer


async def _until_promoted(gql: GraphQLClient, promotion_id: str) -> None:
    for _ in range(600):
        if (await promotion(gql, promotion_id))["status"] == "COMPLETED":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the promotion never completed")
