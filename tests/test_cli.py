"""The `pipegraph` command as a user runs it: a real process, a temporary SQLite database and data folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipegraph.schema import schema

PIPEGRAPH = str(Path(sys.executable).parent / "pipegraph")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PIPEGRAPH, *args], capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A fresh data folder and SQLite file, nothing shared with the test database."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env["PIPEGRAPH_DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    return env


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "dev"),
        (("dev",), "embedded Redis"),
        (("serve",), "Serve the API"),
        (("worker",), "arq worker"),
        (("migrate",), "Apply database migrations"),
        (("export-schema",), "GraphQL schema"),
        (("tokens",), "Manage API tokens"),
        (("tokens", "create"), "--email"),
    ],
)
def test_help_explains_each_command(args: tuple[str, ...], needle: str) -> None:
    # when a command's help is asked for
    result = run(*args, "--help")

    # then it exits cleanly and says what the command does
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: pipegraph")
    assert needle in result.stdout


def test_top_level_help_lists_every_command() -> None:
    # when the top-level help is shown
    result = run("--help")

    # then every command is listed with a summary
    for command in ["dev", "serve", "worker", "migrate", "export-schema", "tokens"]:
        assert f"  {command} " in result.stdout


def test_export_schema_prints_the_sdl() -> None:
    # when the schema is exported to stdout
    result = run("export-schema")

    # then it is exactly the code's SDL
    assert result.returncode == 0, result.stderr
    assert result.stdout == schema.as_str() + "\n"


def test_export_schema_writes_a_file(tmp_path: Path) -> None:
    # when the schema is exported to a file
    target = tmp_path / "schema.graphql"
    result = run("export-schema", "-o", str(target))

    # then the file holds the SDL and nothing went to stdout
    assert result.returncode == 0, result.stderr
    assert target.read_text() == schema.as_str() + "\n"
    assert result.stdout == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(cli_env: dict[str, str], redis_url: str) -> Iterator[str]:
    """`pipegraph serve` on the temporary database, once it is migrated; yields its base URL."""
    migrated = run("migrate", env=cli_env)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    env = {**cli_env, "REDIS_URL": redis_url}
    process = subprocess.Popen(
        [PIPEGRAPH, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"pipegraph serve did not come up: {stderr}")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_migrate_then_tokens_create_prints_a_token_that_authenticates(cli_env: dict[str, str], served: str) -> None:
    # given a migrated database served by `pipegraph serve` (fixture), and a token made by the CLI
    result = run("tokens", "create", "--email", "X@Example.com", "--description", "laptop", env=cli_env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("pgt_")
    assert "\n" not in token

    # when the API is asked who the token belongs to
    response = httpx.post(
        f"{served}/graphql",
        json={"query": "{ viewer { email } }"},
        headers={"Authorization": f"Bearer {token}"},
    )

    # then it is the user the CLI made (email normalized), and a wrong token is refused
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"viewer": {"email": "x@example.com"}}}
    refused = httpx.post(
        f"{served}/graphql", json={"query": "{ viewer { email } }"}, headers={"Authorization": f"Bearer {token}x"}
    )
    assert refused.status_code == 401


def test_migrate_is_safe_to_repeat(cli_env: dict[str, str]) -> None:
    # when migrations are applied twice
    first = run("migrate", env=cli_env)
    second = run("migrate", env=cli_env)

    # then both succeed and say where they applied
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "migrations applied to sqlite://" in second.stdout


def test_tokens_create_for_the_same_email_reuses_the_user(cli_env: dict[str, str]) -> None:
    # given a migrated database
    assert run("migrate", env=cli_env).returncode == 0

    # when two tokens are made for one email
    first = run("tokens", "create", "--email", "x@example.com", env=cli_env)
    second = run("tokens", "create", "--email", "x@example.com", env=cli_env)

    # then both are printed, and they differ
    assert first.returncode == second.returncode == 0
    assert first.stdout.strip() != second.stdout.strip()


def test_tokens_create_refuses_a_bad_email(cli_env: dict[str, str]) -> None:
    # given a migrated database
    assert run("migrate", env=cli_env).returncode == 0

    # when a token is asked for something that is not an email
    result = run("tokens", "create", "--email", "not-an-email", env=cli_env)

    # then it is a usage error naming the problem, with no traceback
    assert result.returncode == 2
    assert "is not an email address" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_tokens_create_needs_an_email() -> None:
    # when --email is missing
    result = run("tokens", "create")

    # then click says so
    assert result.returncode == 2
    assert "--email" in result.stderr


def test_worker_without_redis_url_says_what_it_needs(cli_env: dict[str, str]) -> None:
    # when a distributed worker is started with no REDIS_URL
    result = run("worker", env=cli_env)

    # then it refuses plainly
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr
