"""login, logout, auth:whoami and what the CLI says when the API is wrong or refuses the token."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipegraph.cli import main
from pipegraph.client.commands import COMMANDS
from tests.support.client_scene import LiveApi, free_port, start_dev


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    yield from start_dev(tmp_path_factory.mktemp("client-auth"))


@pytest.fixture
def home(live: LiveApi, tmp_path: Path) -> Path:
    live.home = tmp_path
    return tmp_path


def test_login_stores_the_api_and_token_for_the_owner_only_and_logout_forgets_them(live: LiveApi, home: Path) -> None:
    logged_out = live.cli_env(logged_in=False)

    # when a user logs in with a token
    login = live.cli("login", "--api", live.url + "/graphql", "--token", live.token, env=logged_out)

    # then the token was checked, and the file holds the base URL and token, readable by its owner only
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"Logged in as dev@localhost at {live.url}"
    path = home / "config" / "pipegraph" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"api_url": live.url, "token": live.token}
    # and later commands use it
    whoami = live.cli("auth:whoami", env=logged_out)
    assert (whoami.returncode, whoami.stdout) == (0, "dev@localhost\n")

    # when they log out
    logout = live.cli("logout", env=logged_out)

    # then the file is gone and commands say how to log in
    assert logout.returncode == 0
    assert not path.exists()
    after = live.cli("auth:whoami", env=logged_out)
    assert after.returncode == 1
    assert "not logged in: run `pipegraph login --api URL`" in after.stderr


def test_login_without_xdg_config_home_uses_dot_config_and_reads_the_token_from_stdin(
    live: LiveApi, home: Path
) -> None:
    # given no XDG_CONFIG_HOME
    env = live.cli_env(logged_in=False)
    del env["XDG_CONFIG_HOME"]

    # when the token comes on standard input
    login = live.cli("login", "--api", live.url, input=f"{live.token}\n", env=env)

    # then it lands in ~/.config/pipegraph, mode 600
    assert login.returncode == 0, login.stderr
    assert "Warning" not in login.stderr
    path = home / ".config" / "pipegraph" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["token"] == live.token


def test_environment_variables_override_the_stored_login(live: LiveApi, home: Path) -> None:
    # given a stored login as the dev user, and a token of another user in the environment
    env = live.cli_env(logged_in=False)
    assert live.cli("login", "--api", live.url, "--token", live.token, env=env).returncode == 0
    bob = live.user("bob@example.com")

    # when a command runs with PIPEGRAPH_API_TOKEN set
    whoami = live.cli("auth:whoami", env={**env, "PIPEGRAPH_API_TOKEN": bob})

    # then the environment wins
    assert whoami.stdout == "bob@example.com\n"


def test_a_wrong_api_url_is_one_clear_line_and_nothing_is_stored(live: LiveApi, home: Path) -> None:
    env = live.cli_env(logged_in=False)
    closed = f"http://127.0.0.1:{free_port()}"

    # when login points at a port nobody listens on, at a server that is not pipegraph, at no URL at all
    refused = live.cli("login", "--api", closed, "--token", live.token, env=env)
    elsewhere = live.cli("login", "--api", f"{live.url}/not-the-api", "--token", live.token, env=env)
    nonsense = live.cli("login", "--api", "pipegraph.example.com", "--token", live.token, env=env)

    # then each is refused with one line saying why, and no credentials file is written
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"Error: cannot reach the pipegraph API at {closed}: ")
    assert elsewhere.returncode == 1
    assert elsewhere.stderr == (
        f"Error: {live.url}/not-the-api is not a pipegraph API: POST {live.url}/not-the-api/graphql answered HTTP 404 "
        "without a GraphQL response\n"
    )
    assert nonsense.returncode == 2
    assert "is not an http(s) URL" in nonsense.stderr
    for result in (refused, elsewhere, nonsense):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 or result is nonsense
    assert not (home / "config" / "pipegraph" / "credentials.json").exists()


def test_a_bad_token_is_refused_with_a_clear_line(live: LiveApi, home: Path) -> None:
    # when login is given a wrong token, and a command runs with one in the environment
    login = live.cli("login", "--api", live.url, "--token", "pgt_wrong", env=live.cli_env(logged_in=False))
    listing = live.cli("pipelines", token="pgt_wrong")

    # then both exit 1 saying the API refused the token, and nothing was stored
    for result in (login, listing):
        assert result.returncode == 1
        assert result.stderr == (
            f"Error: the pipegraph API at {live.url} refused the token (invalid or revoked API token): "
            "run `pipegraph login` again\n"
        )
    assert not (home / "config" / "pipegraph").exists()


@pytest.mark.parametrize("command", [command.name for command in COMMANDS])
def test_every_client_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"], prog_name="pipegraph")
    assert result.exit_code == 0, result.output
    assert f"Usage: pipegraph {command}" in result.output
    assert "Examples:" in result.output
    assert re.search(rf"\$ pipegraph {re.escape(command)}\b(?!:)", result.output)


def test_a_token_in_netrc_serves_when_no_other_is_given(live: LiveApi, home: Path) -> None:
    # given only the API URL in the environment, and the token in ~/.netrc for the API's host (as curl -n reads it)
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login dev@localhost\n  password {live.token}\n")
    netrc.chmod(0o600)
    env = {**live.cli_env(logged_in=False), "PIPEGRAPH_API_URL": live.url}

    # when a command runs
    whoami = live.cli("auth:whoami", env=env)

    # then the netrc token was used; an entry others can read is refused, as curl and Python's netrc refuse it
    assert (whoami.returncode, whoami.stdout) == (0, "dev@localhost\n"), whoami.stderr
    netrc.chmod(0o644)
    exposed = live.cli("auth:whoami", env=env)
    assert exposed.returncode == 1
    assert f"Error: {netrc} is unusable: " in exposed.stderr
