"""pipelines and pipelines:* through the real CLI against a live server: output, --json shapes, refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.build_scene import PROCFILE_APP
from tests.support.client_scene import LiveApi, start_dev
from tests.support.git_scene import commit, git, remote_url, work_tree

PIPELINE_OWNER = "query($n: String!) { pipeline(name: $n) { owner { ... on Team { name } ... on User { email } } } }"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    for server in start_dev(tmp_path_factory.mktemp("client-pipelines")):
        for app in ("web-dev", "web-staging", "web-prod", "web-qa"):
            server.create_app(app)
        yield server


def test_create_add_update_info_and_list(live: LiveApi) -> None:
    # when a pipeline is made around an app, and apps are added and moved
    created = live.cli("pipelines:create", "web", "-a", "web-staging")
    added = live.cli("pipelines:add", "web", "-a", "web-prod", "-s", "production")
    guessed = live.cli("pipelines:add", "web", "-a", "web-qa", input="\n")
    updated = live.cli("pipelines:update", "-a", "web-qa", "-s", "staging")

    # then each says what it did, Heroku's way (the stage of web-qa guessed from its -qa suffix)
    assert created.returncode == 0, created.stderr
    assert created.stderr == "Creating web pipeline... done\nAdding ⬢ web-staging to web pipeline as staging... done\n"
    assert added.stderr == "Adding ⬢ web-prod to web pipeline as production... done\n"
    assert guessed.returncode == 0, guessed.stderr
    assert "Adding ⬢ web-qa to web pipeline as development... done" in guessed.stderr
    assert updated.stderr == "Changing ⬢ web-qa to staging... done\n"

    # and info shows the owner and the apps by stage, as a table and as JSON
    info = live.cli("pipelines:info", "web")
    assert info.stdout.splitlines() == [
        "=== web",
        "owner: dev@localhost",
        "",
        "app name       stage",
        "⬢ web-qa       staging",
        "⬢ web-staging  staging",
        "⬢ web-prod     production",
    ]
    shape = json.loads(live.cli("pipelines:info", "web", "--json").stdout)
    by_id = json.loads(live.cli("pipelines:info", shape["pipeline"]["id"], "--json").stdout)
    assert by_id == shape
    assert set(shape) == {"pipeline", "apps"}
    assert set(shape["pipeline"]) == {"id", "name", "owner"}
    assert shape["apps"][0] == {"name": "web-qa", "stage": "staging", "owner": "dev@localhost"}
    # and the list has it
    assert live.cli("pipelines").stdout == "=== My Pipelines\nweb\n"
    listed = json.loads(live.cli("pipelines", "--json").stdout)
    assert [(p["name"], p["owner"], sorted(p)) for p in listed] == [("web", "dev@localhost", ["id", "name", "owner"])]


def test_pipeline_refusals_print_the_api_message_and_code(live: LiveApi) -> None:
    # when an app already in a pipeline is added again, and a pipeline that does not exist is asked for
    again = live.cli("pipelines:create", "other", "-a", "web-staging")
    missing = live.cli("pipelines:info", "nowhere")
    bad_stage = live.cli("pipelines:update", "-a", "web-qa", "-s", "limbo")

    # then each exits non-zero with the API's message and code, or click's usage error
    assert again.returncode == 1
    assert again.stderr.endswith("(APP_ALREADY_IN_PIPELINE)\n")
    assert again.stderr.startswith("Creating other pipeline... !\nError: ")
    assert (missing.returncode, missing.stderr) == (1, "Error: pipeline nowhere not found (NOT_FOUND)\n")
    assert bad_stage.returncode == 2
    assert "'limbo' is not one of" in bad_stage.stderr


def test_rename_open_remove_and_destroy_with_confirmation(live: LiveApi) -> None:
    live.cli("pipelines:create", "tmp", "-a", "web-dev", "-s", "development")

    renamed = live.cli("pipelines:rename", "tmp", "tmp2")
    pipeline_id = json.loads(live.cli("pipelines:info", "tmp2", "--json").stdout)["pipeline"]["id"]
    opened = live.cli("pipelines:open", "tmp2")
    opened_by_id = live.cli("pipelines:open", pipeline_id)
    removed = live.cli("pipelines:remove", "-a", "web-dev")
    refused = live.cli("pipelines:destroy", "tmp2", input="tmp\n")
    destroyed = live.cli("pipelines:destroy", "tmp2", input="tmp2\n")

    assert renamed.stderr == "Renaming tmp pipeline to tmp2... done\n"
    # the dashboard's address of the pipeline, /pipelines/NAME, however it was named on the command line
    assert opened.stdout == opened_by_id.stdout == f"{live.url}/pipelines/tmp2\n"
    assert removed.stderr == "Removing ⬢ web-dev... done\n"
    assert refused.returncode == 1
    assert "Error: Confirmation did not match tmp2. Aborted." in refused.stderr
    assert destroyed.returncode == 0, destroyed.stderr
    assert "Destroying tmp2 pipeline... done" in destroyed.stderr
    assert "tmp2" not in live.cli("pipelines").stdout
    # and --confirm skips the question; a wrong one is refused before anything changes
    live.cli("pipelines:create", "tmp3", "-a", "web-dev")
    assert live.cli("pipelines:destroy", "tmp3", "--confirm", "nope").returncode == 1
    assert live.cli("pipelines:destroy", "tmp3", "--confirm", "tmp3").returncode == 0


def test_transfer_to_a_team(live: LiveApi) -> None:
    # given a team of the dev user's
    assert live.cli("teams:create", "acme").returncode == 0

    # when the pipeline is transferred to it, and then to a stranger
    moved = live.cli("pipelines:transfer", "acme", "-p", "web", "--confirm", "web")
    refused = live.cli("pipelines:transfer", "zed@example.com", "-p", "web", "--confirm", "web")

    # then the team owns it, and the refusal names the rule
    assert moved.returncode == 0, moved.stderr
    assert moved.stderr == "Transferring web pipeline to the acme team... done\n"
    assert live.gql(PIPELINE_OWNER, {"n": "web"})["pipeline"]["owner"] == {"name": "acme"}
    assert "owner: acme (team)" in live.cli("pipelines:info", "web").stdout
    assert refused.returncode == 1
    assert refused.stderr.startswith("Transferring web pipeline to the zed@example.com account... !\nError: ")


def test_diff_tells_ahead_and_up_to_date_from_the_release_history(live: LiveApi) -> None:
    # given staging released commit A, promoted to production, then commit B released on staging
    live.cli("pipelines:create", "diffy", "-a", "web-dev", "-s", "development")
    for app, stage in (("diff-staging", "staging"), ("diff-prod", "production"), ("diff-eu", "production")):
        live.create_app(app)
        live.cli("pipelines:add", "diffy", "-a", app, "-s", stage)
    live.deploy("diff-staging", commit="a" * 40)
    live.wait_released("diff-staging", 1)
    assert live.cli("pipelines:promote", "-a", "diff-staging", "--to", "diff-prod").returncode == 0
    live.deploy("diff-staging", commit="b" * 40)
    live.wait_released("diff-staging", 2)

    # when staging is compared with its downstream apps
    result = live.cli("pipelines:diff", "-a", "diff-staging")
    shape = json.loads(live.cli("pipelines:diff", "-a", "diff-staging", "--json").stdout)

    # then it is one commit ahead of production, and diff-eu has no release to compare with
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "⬢ diff-staging was not compared to ⬢ diff-eu as ⬢ diff-eu does not have any releases"
    assert lines[2] == "=== ⬢ diff-staging is ahead of ⬢ diff-prod by 1 commit"
    assert lines[4].startswith("bbbbbbb  ")
    assert lines[4].endswith("dev@localhost  Change bbbbbbb")
    assert "commits never released to either app are not counted" in result.stderr
    assert set(shape) == {"app", "pipeline", "commit", "basis", "downstream"}
    assert [(d["app"], d["status"], [c["sha"] for c in d["commits"]]) for d in shape["downstream"]] == [
        ("diff-eu", "no-releases", []),
        ("diff-prod", "ahead", ["b" * 40]),
    ]
    assert set(shape["downstream"][1]["commits"][0]) == {"sha", "date", "author", "message", "release"}
    # and once promoted there, diff-eu is up to date
    assert live.cli("pipelines:promote", "-a", "diff-staging", "--to", "diff-eu").returncode == 0
    assert "⬢ diff-staging is up to date with ⬢ diff-eu\n" in live.cli("pipelines:diff", "-a", "diff-staging").stdout
    # and production itself has nothing downstream; a loose app is in no pipeline
    assert live.cli("pipelines:diff", "-a", "diff-prod").stderr == (
        "Error: Cannot diff diff-prod as there are no downstream apps configured (NO_DOWNSTREAM_APPS)\n"
    )
    live.create_app("loose-app")
    assert "does not seem to be a part of any pipeline" in live.cli("pipelines:diff", "-a", "loose-app").stderr


def test_diff_reads_the_git_history_of_pushed_commits(live: LiveApi, tmp_path: Path) -> None:
    # given staging deployed by git push and promoted to production, then two more commits pushed to staging
    live.pipeline("gitty", {"gitty-staging": "staging", "gitty-prod": "production"})
    host = live.url.removeprefix("http://")
    staging, production = (remote_url(host, app, live.token) for app in ("gitty-staging", "gitty-prod"))
    tree = asyncio.run(work_tree(tmp_path / "gitty", PROCFILE_APP))
    assert asyncio.run(git("push", staging, "main", cwd=tree)).code == 0
    assert live.cli("pipelines:promote", "-a", "gitty-staging").returncode == 0
    for message in ("Add checkout", "Fix totals\n\nwith a body"):
        asyncio.run(commit(tree, {"README": message}, message=message))
    assert asyncio.run(git("push", staging, "main", cwd=tree)).code == 0

    # when staging is compared with production
    ahead = live.cli("pipelines:diff", "-a", "gitty-staging")
    shape = json.loads(live.cli("pipelines:diff", "-a", "gitty-staging", "--json").stdout)

    # then git's history answers: both commits, oldest first, with their git author and first line
    assert ahead.returncode == 0, ahead.stderr
    lines = ahead.stdout.splitlines()
    assert lines[0] == "=== ⬢ gitty-staging is ahead of ⬢ gitty-prod by 2 commits"
    assert [line.rsplit("  ", 1)[-1] for line in lines[2:4]] == ["Add checkout", "Fix totals"]
    assert "Ada <ada@example.com>" in lines[2]
    assert "release history" not in ahead.stderr
    row = shape["downstream"][0]
    assert (row["status"], row["ahead"], row["behind"], row["basis"]) == ("ahead", 2, 0, "git")

    # and once production runs a commit of its own on the first one, the two have diverged
    assert asyncio.run(git("checkout", "--quiet", "-b", "hotfix", "HEAD~2", cwd=tree)).code == 0
    asyncio.run(commit(tree, {"HOTFIX": "1"}, message="Hotfix"))
    assert asyncio.run(git("push", production, "hotfix:main", cwd=tree)).code == 0
    diverged = live.cli("pipelines:diff", "-a", "gitty-staging").stdout.splitlines()
    assert diverged[0] == (
        "=== ⬢ gitty-staging and ⬢ gitty-prod have diverged: ⬢ gitty-staging has 2 commits that ⬢ gitty-prod has "
        "not, and ⬢ gitty-prod 1 commit that ⬢ gitty-staging has not"
    )


def test_add_without_a_stage_nor_a_terminal_says_the_stage_is_missing(live: LiveApi) -> None:
    # when an app is added with no -s, no terminal, and nothing on standard input
    added = live.cli("pipelines:add", "web", "-a", "web-prod", input="")

    # then it says what is missing and how to give it, and exits 1 before asking the API anything
    assert added.returncode == 1
    assert "Aborted!" not in added.stderr
    assert added.stderr.endswith(
        "Error: no stage given for web-prod: pass -s/--stage (review, development, staging, production); "
        "it is asked for only in a terminal or on standard input\n"
    )
