"""apps, config, releases, git:remote, teams, members:add and access:add through the real CLI against a live server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client_scene import LiveApi, start_dev


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    for server in start_dev(tmp_path_factory.mktemp("client-apps")):
        server.create_app("rel-app")
        for version, commit in enumerate(("a" * 40, "b" * 40), start=1):
            server.deploy("rel-app", commit=commit)
            server.wait_released("rel-app", version)
        yield server


def test_apps_create_list_and_info(live: LiveApi) -> None:
    created = live.cli("apps:create", "shop-one")
    refused = live.cli("apps:create", "Bad_Name")

    assert created.returncode == 0, created.stderr
    assert created.stderr == "Creating ⬢ shop-one... done\n"
    assert created.stdout == "⬢ shop-one (heroku-24)\n"
    assert refused.returncode == 1
    assert refused.stderr.endswith("(INVALID_NAME)\n")
    # and the list shows it, as a table and as JSON
    listing = live.cli("apps").stdout.splitlines()
    assert listing[:2] == ["=== Apps", "name        owner          pipeline  stage"]
    assert "⬢ shop-one  dev@localhost  -         -" in listing
    shape = json.loads(live.cli("apps", "--json").stdout)
    assert {
        "name": "shop-one",
        "stack": "heroku-24",
        "owner": "dev@localhost",
        "pipeline": None,
        "stage": None,
    }.items() <= next(app for app in shape if app["name"] == "shop-one").items()
    assert all(set(app) == {"id", "name", "stack", "owner", "pipeline", "stage"} for app in shape)
    # and info tells about one app, or that it is not there
    info = live.cli("apps:info", "-a", "rel-app").stdout.splitlines()
    assert info[0] == "=== ⬢ rel-app"
    assert "Release:       v2 succeeded" in info
    # (as JSON: the apps row, flat, and what info shows besides, by name)
    shown = json.loads(live.cli("apps:info", "-a", "rel-app", "--json").stdout)
    assert shown == {
        "id": shown["id"],
        "name": "rel-app",
        "stack": "heroku-24",
        "owner": "dev@localhost",
        "pipeline": None,
        "stage": None,
        "ephemeral": False,
        "createdAt": shown["createdAt"],
        "release": 2,
        "releaseStatus": "succeeded",
        "commit": "b" * 40,
        "collaborators": [],
    }
    missing = live.cli("apps:info", "-a", "nope-app")
    assert (missing.returncode, missing.stderr) == (1, "Error: app nope-app not found (NOT_FOUND)\n")


def test_config_set_show_and_unset(live: LiveApi) -> None:
    live.create_app("conf-app")

    set_vars = live.cli("config:set", "LOG_LEVEL=debug", "GREETING=a=b c", "-a", "conf-app")
    shown = live.cli("config", "-a", "conf-app")
    unset = live.cli("config:unset", "LOG_LEVEL", "-a", "conf-app")

    assert set_vars.returncode == 0, set_vars.stderr
    assert set_vars.stdout == "LOG_LEVEL: debug\nGREETING: a=b c\n"
    assert shown.stdout == "=== ⬢ conf-app Config Vars\nGREETING:  a=b c\nLOG_LEVEL: debug\n"
    assert unset.stderr == "Unsetting LOG_LEVEL on ⬢ conf-app... done\n"
    assert json.loads(live.cli("config", "-a", "conf-app", "--json").stdout) == {"GREETING": "a=b c"}
    # and bad input is refused, changing nothing
    not_a_pair = live.cli("config:set", "LOG_LEVEL", "-a", "conf-app")
    bad_key = live.cli("config:set", "BAD KEY=1", "-a", "conf-app")
    assert not_a_pair.returncode == 2
    assert "'LOG_LEVEL' is not KEY=value" in not_a_pair.stderr
    assert bad_key.returncode == 1
    assert bad_key.stderr.endswith("(INVALID_CONFIG_VAR)\n")
    assert json.loads(live.cli("config", "-a", "conf-app", "--json").stdout) == {"GREETING": "a=b c"}


def test_releases_list_info_output_and_rollback(live: LiveApi) -> None:
    listing = live.cli("releases", "-a", "rel-app").stdout.splitlines()
    shape = json.loads(live.cli("releases", "-a", "rel-app", "--json").stdout)
    info = live.cli("releases:info", "v1", "-a", "rel-app")
    output = live.cli("releases:output", "v1", "-a", "rel-app")

    assert listing[0] == "=== ⬢ rel-app Releases - Current: v2"
    assert listing[2].startswith("v2       Deploy ")
    assert "dev@localhost" in listing[2]
    assert [(r["version"], r["current"], r["status"]) for r in shape] == [
        (2, True, "SUCCEEDED"),
        (1, False, "SUCCEEDED"),
    ]
    assert {"id", "version", "status", "current", "description", "createdAt", "createdBy", "slug"} <= set(shape[0])
    assert "Commit:  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa Change aaaaaaa" in info.stdout
    assert output.stdout == "released\n"

    # when the app is rolled back without a version: to the release before the current one
    rolled = live.cli("releases:rollback", "-a", "rel-app")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stderr.startswith("Rolling back ⬢ rel-app to v1... done\n")
    assert "To undo, run: pipegraph releases:rollback v2 -a rel-app" in rolled.stderr
    # (releases keep a slug, not config vars: it must not say, as Heroku does, that config vars roll back too)
    assert "Rollback releases v1's code again; the app's config vars stay as they are now.\n" in rolled.stderr
    assert rolled.stdout.startswith("⬢ rel-app is at v3")
    assert "released" in rolled.stdout  # its release phase, streamed
    # and refusals: a release that does not exist, an app with nothing to roll back to, a version that is not one
    live.create_app("empty-app")
    missing = live.cli("releases:info", "v9", "-a", "rel-app")
    nothing = live.cli("releases:rollback", "-a", "empty-app")
    not_a_version = live.cli("releases:info", "latest", "-a", "rel-app")
    assert (missing.returncode, missing.stderr) == (1, "Error: release v9 of rel-app not found (NOT_FOUND)\n")
    assert nothing.stderr == "Error: No eligible release found for ⬢ empty-app to roll back to. (NOT_FOUND)\n"
    assert not_a_version.returncode == 2
    assert live.cli("releases", "-a", "empty-app").stdout == "⬢ empty-app has no releases.\n"


def test_git_remote_adds_then_repoints_the_remote(live: LiveApi, tmp_path: Path) -> None:
    live.create_app("git-app")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)

    def remote_url() -> str:
        got = subprocess.run(["git", "remote", "get-url", "pipegraph"], cwd=tmp_path, capture_output=True, text=True)
        return got.stdout.strip()

    added = live.cli("git:remote", "-a", "git-app", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout == f"set git remote pipegraph to {live.url}/git/git-app.git\n"
    assert remote_url() == f"{live.url}/git/git-app.git"
    repointed = live.cli("git:remote", "-a", "rel-app", cwd=tmp_path)
    assert repointed.returncode == 0, repointed.stderr
    assert remote_url() == f"{live.url}/git/rel-app.git"
    # and an unknown app, or a folder that is no repository, is refused
    assert live.cli("git:remote", "-a", "nope-app", cwd=tmp_path).stderr.endswith("(NOT_FOUND)\n")
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / ".git").write_text("not a repository")
    refused = live.cli("git:remote", "-a", "git-app", cwd=outside)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: `git remote add pipegraph ")


def test_after_login_and_git_remote_git_push_authenticates_with_the_login_token(live: LiveApi, tmp_path: Path) -> None:
    # given a user logged in with `pipegraph login` only: no token in the environment, no ~/.netrc for git to read
    live.create_app("push-app")
    env = live.cli_env(logged_in=False)
    assert live.cli("login", "--api", live.url, "--token", live.token, env=env).returncode == 0
    repo = tmp_path / "push-app"
    (repo / "bin").mkdir(parents=True)
    (repo / "Procfile").write_text("web: ./bin/web\n")
    (repo / "bin" / "web").write_text("#!/bin/sh\necho web\n")
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q", "--initial-branch=main"], ["add", "-A"], ["commit", "-qm", "First version"]):
        identity = ["-c", "user.name=Ada", "-c", "user.email=ada@example.com"]
        subprocess.run(["git", *identity, *args], cwd=repo, env=git_env, check=True, timeout=60)
    assert live.cli("git:remote", "-a", "push-app", cwd=repo, env=env).returncode == 0

    # when they push
    pushed = subprocess.run(
        ["git", "push", "pipegraph", "main"], cwd=repo, env=git_env, capture_output=True, text=True, timeout=120
    )

    # then git asked `pipegraph git:credentials`, which answered with the login's token: the push built and released
    assert pushed.returncode == 0, pushed.stderr
    assert "remote: -----> Launching... done, v1" in pushed.stderr
    # and the helper says nothing about another host, nor to anything but `get`
    other_host = live.cli("git:credentials", "get", input="protocol=https\nhost=example.com\n\n", env=env)
    assert (other_host.returncode, other_host.stdout) == (0, "")
    host = live.url.split("://", 1)[1]
    erase = live.cli("git:credentials", "erase", input=f"protocol=http\nhost={host}\n\n", env=env)
    assert (erase.returncode, erase.stdout) == (0, "")


def test_teams_members_and_access(live: LiveApi) -> None:
    bob = live.user("bob@example.com")
    live.create_app("team-app")

    created = live.cli("teams:create", "acme")
    member = live.cli("members:add", "bob@example.com", "-t", "acme")
    access = live.cli("access:add", "bob@example.com", "-a", "team-app", "--permissions", "deploy")

    assert created.stderr == "Creating team acme... done\n"
    assert member.stderr == "Adding bob@example.com to acme as member... done\n"
    assert (
        access.stderr == "Adding bob@example.com access to the app ⬢ team-app with view, deploy permissions... done\n"
    )
    teams = json.loads(live.cli("teams", "--json").stdout)
    assert [(t["name"], t["kind"], t["role"]) for t in teams] == [("acme", "team", "admin")]
    assert sorted(m["email"] for m in teams[0]["members"]) == ["bob@example.com", "dev@localhost"]
    assert live.cli("teams").stdout.splitlines()[1].split() == ["acme", "team", "admin", "2"]
    assert "team-app" in [app["name"] for app in json.loads(live.cli("apps", "--json", token=bob).stdout)]
    # and a member who is not admin may not add members; an unknown permission is a usage error
    refused = live.cli("members:add", "carol@example.com", "-t", "acme", token=bob)
    assert refused.returncode == 1
    assert refused.stderr.endswith("(FORBIDDEN)\n")
    bad = live.cli("access:add", "bob@example.com", "-a", "team-app", "--permissions", "fly")
    assert bad.returncode == 2
    assert "fly is not a permission" in bad.stderr


def test_releases_output_streams_a_running_release_phase_to_its_end(live: LiveApi) -> None:
    # given a release whose release phase is still running
    live.create_app("slow-out")
    live.deploy("slow-out", commit="c" * 40, release_script="echo one\nsleep 2\necho two\n")

    # when its output is asked for at once
    streamed = live.cli("releases:output", "-a", "slow-out")

    # then the lines come as they are written, and the command ends with the release phase
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == "one\ntwo\n"
