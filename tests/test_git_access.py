"""Who may push and clone: HTTP Basic with an API token as the password; push needs deploy, clone needs view."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from pipegraph.builds.models import Build
from pipegraph.settings import Settings
from pipegraph.sources.models import Source
from pipegraph.sources.push import PUSH_PATH
from tests.conftest import serve_app
from tests.support.build_scene import PROCFILE_APP
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.factories import create_app
from tests.support.git_scene import git, remote_url, work_tree
from tests.test_app_collaborators import ADD, add


async def _nothing_stored() -> bool:
    return not await Build.exists() and not await Source.exists()


async def test_a_push_without_a_token_is_asked_to_authenticate_and_stores_nothing(
    gql: GraphQLClient, git_server: str, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP)

    pushed = await git("push", remote_url(git_server, "shop-staging", None), "main", cwd=tree)

    assert pushed.code != 0
    assert "could not read Username" in pushed.output
    assert await _nothing_stored()


async def test_a_push_with_a_wrong_token_fails_authentication(
    gql: GraphQLClient, git_server: str, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP)

    pushed = await git("push", remote_url(git_server, "shop-staging", "pgt_not-a-token"), "main", cwd=tree)

    assert pushed.code != 0
    assert "Authentication failed" in pushed.output
    assert await _nothing_stored()


async def test_a_token_without_deploy_gets_403_on_push_but_may_clone(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path
) -> None:
    # given an app pushed once by its owner, and a collaborator who may only view it
    await create_app(gql, name="shop-staging")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP, message="Add checkout")
    assert (await git("push", remote_url(git_server, "shop-staging", viewer.token), "main", cwd=tree)).code == 0
    watcher = await make_actor("watcher@example.com")
    added = await gql(ADD, add("shop-staging", "watcher@example.com", ["VIEW"]))
    assert added["addAppCollaborator"]["userErrors"] == []
    builds_before = await Build.all().count()

    # when the watcher pushes, then clones
    pushed = await git("push", remote_url(git_server, "shop-staging", watcher.token), "main", cwd=tree)
    cloned = await git("clone", "--quiet", remote_url(git_server, "shop-staging", watcher.token), "copy", cwd=tmp_path)

    # then the push is forbidden before git sees it, and the clone has the deployed history
    assert pushed.code != 0
    assert "403" in pushed.output
    assert await Build.all().count() == builds_before
    assert cloned.code == 0, cloned.output
    assert (await git("log", "--format=%s", cwd=tmp_path / "copy")).output == "Add checkout\n"


async def test_an_app_the_token_cannot_see_is_not_found(gql: GraphQLClient, git_server: str) -> None:
    await create_app(gql, name="shop-staging")
    stranger = await make_actor("stranger@example.com")
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{git_server}/git/shop-staging.git/info/refs?service=git-upload-pack",
            auth=("git", stranger.token),
        )
        dumb = await http.get(f"http://{git_server}/git/shop-staging.git/HEAD", auth=("git", stranger.token))
    assert (response.status_code, response.text) == (404, "app shop-staging not found")
    assert dumb.status_code == 404


async def test_a_push_larger_than_the_source_limit_is_refused_and_stores_nothing(
    gql: GraphQLClient, viewer: Actor, settings: Settings, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    # Random bytes do not compress: the pack is larger than the limit below.
    tree = await work_tree(tmp_path / "shop", {**PROCFILE_APP, "blob.bin": os.urandom(64 * 1024).hex()})
    small = replace(settings, source_max_bytes=16 * 1024)
    async with serve_app(small) as host:
        pushed = await git("push", remote_url(host, "shop-staging", viewer.token), "main", cwd=tree)

    assert pushed.code != 0
    assert "pack exceeds maximum allowed size" in pushed.output
    assert await _nothing_stored()


@pytest.mark.parametrize("key", ["²", "9" * 25, ""], ids=["superscript-two", "25-nines", "missing"])
async def test_the_hooks_push_endpoint_refuses_a_grant_naming_no_possible_row(gql: GraphQLClient, key: str) -> None:
    # given a request to the pre-receive hook's endpoint whose grant names an id no row can have ("²" is the byte
    # 0xB2, which HTTP carries in a header and Starlette reads as latin-1; str.isdigit() says yes to it)
    raw = key.encode("latin-1")
    headers = {"x-pipegraph-push-app": raw, "x-pipegraph-push-user": raw, "x-pipegraph-push-signature": b"x"}

    # when it is posted
    answer = await gql.http.post(PUSH_PATH, headers=headers, content=b"")

    # then it is refused as any grant that does not verify, not answered with an internal error
    assert answer.status_code == 403
    assert await _nothing_stored()
