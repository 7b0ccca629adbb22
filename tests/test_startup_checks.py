"""A server that cannot use its database does not start: it exits at once with one line saying why (real processes).

Before, `pipegraph serve` with a wrong DATABASE_URL or an unmigrated database started, answered /healthz, then
gave every request a bare 500; the other commands printed a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_cli import free_port, run


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    return {**base, "PIPEGRAPH_DATA_DIR": str(tmp_path / "data"), "PIPEGRAPH_SECRET_KEY": "test"}


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_serve_with_an_unreachable_database_exits_saying_so(env: dict[str, str]) -> None:
    # given a PostgreSQL URL where nothing listens (a free port), with a password in it
    port = free_port()
    env["DATABASE_URL"] = f"postgres://pipegraph:s3cret@127.0.0.1:{port}/pipegraph"

    # when the API is started on it
    result = run("serve", "--port", str(free_port()), env=env)

    # then it exits non-zero with one line naming the database (password hidden) and the cause
    assert result.returncode != 0
    line = one_line_error(result.stderr)
    assert line.startswith(f"Error: cannot use the database postgres://pipegraph:***@127.0.0.1:{port}/pipegraph: ")
    assert "Connect call failed" in line or "refused" in line.lower(), line
    assert "s3cret" not in result.stderr


def test_serve_with_an_unmigrated_database_exits_saying_to_migrate(env: dict[str, str], tmp_path: Path) -> None:
    # given an SQLite file that exists but was never migrated
    database = tmp_path / "empty.sqlite3"
    database.touch()
    env["DATABASE_URL"] = f"sqlite://{database}"

    # when the API is started on it
    result = run("serve", "--port", str(free_port()), env=env)

    # then it exits with one line saying what to run
    assert result.returncode != 0
    line = one_line_error(result.stderr)
    assert line.startswith(f"Error: the database sqlite://{database} is not migrated (")
    assert "from pipegraph.0001_initial): run `pipegraph migrate`" in line


def test_serve_with_no_database_file_exits_without_creating_one(env: dict[str, str], tmp_path: Path) -> None:
    # given an SQLite path with nothing there
    database = tmp_path / "missing" / "pipegraph.sqlite3"
    env["DATABASE_URL"] = f"sqlite://{database}"

    # when the API is started on it
    result = run("serve", "--port", str(free_port()), env=env)

    # then it exits saying so, and did not leave an empty database behind
    assert result.returncode != 0
    assert one_line_error(result.stderr) == (
        f"Error: there is no database file at {database}: run `pipegraph migrate` (or set DATABASE_URL)"
    )
    assert not database.exists()


@pytest.mark.parametrize(
    ("url", "needle"),
    [("postgres://nobody@127.0.0.1:{port}/x", "Connect call failed"), ("mysql2://x", "Unknown DB scheme: mysql2")],
    ids=["unreachable", "unknown-scheme"],
)
def test_other_commands_answer_a_bad_database_url_with_one_line(env: dict[str, str], url: str, needle: str) -> None:
    # when a command that uses the database runs against a bad DATABASE_URL
    env["DATABASE_URL"] = url.format(port=free_port())
    result = run("tokens", "create", "--email", "ada@example.com", env=env)

    # then it is one line naming the cause, no traceback
    assert result.returncode != 0
    line = one_line_error(result.stderr)
    assert line.startswith("Error: database error (DATABASE_URL): ")
    assert needle in line


def test_a_command_on_an_unmigrated_database_says_to_migrate(env: dict[str, str], tmp_path: Path) -> None:
    database = tmp_path / "empty.sqlite3"
    database.touch()
    env["DATABASE_URL"] = f"sqlite://{database}"

    result = run("tokens", "list", "--email", "ada@example.com", env=env)

    assert result.returncode != 0
    assert one_line_error(result.stderr).endswith("(is the database migrated? run `pipegraph migrate`)")
