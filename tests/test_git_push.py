"""`git push` deploys: the real git client over HTTP, git's own http-backend, a build followed from the hook."""

from __future__ import annotations

from pathlib import Path

from pipegraph.apps.models import App
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.builds.runner import NO_DETECT
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from pipegraph.sources.repos import repo_path
from tests.support.build_scene import PROCFILE_APP, write_buildpack
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import create_app
from tests.support.git_scene import commit, git, remote_url, work_tree
from tests.support.promotion_scene import SET_CONFIG_VARS
from tests.test_builds_api import SET_BUILDPACKS


async def _refs(settings: Settings, app: str) -> str:
    row = await App.get(name=app)
    path = repo_path(settings.repo_dir, row.id)
    return (await git("for-each-ref", "--format=%(refname) %(objectname)", cwd=path)).output if path.exists() else ""


async def test_a_push_to_main_builds_streams_the_output_and_releases(
    gql: GraphQLClient, viewer: Actor, git_server: str, settings: Settings, tmp_path: Path
) -> None:
    # given an app with a config var and a work tree with a Procfile that has a release phase
    await create_app(gql, name="shop-staging")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-staging", "vars": {"MODE": "staging"}}})
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP, message="Add checkout")

    # when it is pushed to main
    pushed = await git("push", remote_url(git_server, "shop-staging", viewer.token), "main", cwd=tree)

    # then the build's output streamed into the push, and the commit is released
    assert pushed.code == 0, pushed.output
    lines = pushed.remote_lines
    assert "-----> Building on the heroku-24 stack" in lines
    assert "-----> Procfile app detected" in lines
    assert lines.index("-----> Building on the heroku-24 stack") < lines.index("-----> Launching... done, v1")
    # and the push waited for the release phase, run with the app's config vars
    assert lines[-2:] == ["-----> Running release command...", "       migrating staging"]
    sha = (await git("rev-parse", "HEAD", cwd=tree)).output.strip()
    build = await Build.get(app__name="shop-staging")
    assert (build.status, build.source_version, build.source_description) == (
        BuildStatus.SUCCEEDED,
        sha,
        "Add checkout",
    )
    release = await Release.get(id=build.release_id)
    assert (release.version, release.status, release.is_current) == (1, ReleaseStatus.SUCCEEDED, True)
    assert await _refs(settings, "shop-staging") == f"refs/heads/main {sha}\n"


async def test_a_push_nothing_detects_is_rejected_and_keeps_the_current_release(
    gql: GraphQLClient, viewer: Actor, git_server: str, settings: Settings, tmp_path: Path
) -> None:
    # given an app released once by a push
    await create_app(gql, name="shop-staging")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP)
    remote = remote_url(git_server, "shop-staging", viewer.token)
    assert (await git("push", remote, "main", cwd=tree)).code == 0
    refs_before = await _refs(settings, "shop-staging")

    # when the next commit has no Procfile (nothing detects)
    await git("rm", "--quiet", "Procfile", cwd=tree)
    await commit(tree, {"index.php": "<?php"}, message="Go PHP")
    pushed = await git("push", remote, "main", cwd=tree)

    # then the push is rejected with Heroku's words, nothing is stored, and v1 stays current
    assert pushed.code != 0
    assert f" !     {NO_DETECT}" in pushed.remote_lines
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in pushed.output
    assert await _refs(settings, "shop-staging") == refs_before
    current = await Release.get(app__name="shop-staging", is_current=True)
    assert (current.version, current.status) == (1, ReleaseStatus.SUCCEEDED)
    assert await Release.filter(app__name="shop-staging").count() == 1


async def test_a_push_to_another_branch_is_refused_with_a_message(
    gql: GraphQLClient, viewer: Actor, git_server: str, settings: Settings, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP)

    pushed = await git("push", remote_url(git_server, "shop-staging", viewer.token), "main:feature", cwd=tree)

    assert pushed.code != 0
    assert (
        " !     pipegraph deploys only main or master, not feature: push it with `git push <remote> feature:main`"
        in pushed.remote_lines
    )
    assert await _refs(settings, "shop-staging") == ""
    assert not await Build.exists()


async def test_a_failing_release_phase_fails_the_push_and_keeps_the_current_release(
    gql: GraphQLClient, viewer: Actor, git_server: str, settings: Settings, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP)
    remote = remote_url(git_server, "shop-staging", viewer.token)
    assert (await git("push", remote, "main", cwd=tree)).code == 0
    refs_before = await _refs(settings, "shop-staging")

    await commit(tree, {"Procfile": "web: ./bin/web\nrelease: echo cannot migrate; exit 4\n"}, message="Bad migration")
    pushed = await git("push", remote, "main", cwd=tree)

    assert pushed.code != 0
    assert pushed.remote_lines[-2:] == [
        "       cannot migrate",
        " !     Release v2 failed: release command exited with status 4",
    ]
    current = await Release.get(app__name="shop-staging", is_current=True)
    assert current.version == 1
    # and, as the README says: the branch is not updated, and the failed release stays in the history
    assert await _refs(settings, "shop-staging") == refs_before
    failed = await Release.get(app__name="shop-staging", version=2)
    assert (failed.status, failed.is_current) == (ReleaseStatus.FAILED, False)


async def test_a_failing_compile_rejects_the_push_with_the_buildpacks_output(
    gql: GraphQLClient, viewer: Actor, git_server: str, settings: Settings, tmp_path: Path
) -> None:
    # given an app whose buildpack fails to compile
    await create_app(gql, name="shop-staging")
    pack = write_buildpack(tmp_path / "bp", compile='echo "-----> Installing gems"; echo "gem not found" >&2; exit 1')
    await gql(SET_BUILDPACKS, {"input": {"app": "shop-staging", "buildpacks": [str(pack)]}})
    tree = await work_tree(tmp_path / "shop", PROCFILE_APP)

    pushed = await git("push", remote_url(git_server, "shop-staging", viewer.token), "main", cwd=tree)

    # then the push is rejected with the compile's own lines, and nothing is released or stored
    assert pushed.code != 0
    lines = pushed.remote_lines
    assert lines.index("-----> Installing gems") < lines.index("gem not found")
    assert " !     Push rejected, failed to compile Shell app (exit status 1)." in lines
    assert "! [remote rejected] main -> main (pre-receive hook declined)" in pushed.output
    assert not await Release.exists()
    assert await _refs(settings, "shop-staging") == ""
