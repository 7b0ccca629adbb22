"""The local release-phase runner: a fresh extraction, the app's environment only, every line, a group kill.

Through the same sandbox the workers use (bubblewrap where it works); what the sandbox keeps out is test_sandbox.py.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from pipegraph.releases.phase import LocalProcessRunner, ReleasePhaseRequest, ReleasePhaseResult
from pipegraph.sandbox import Sandbox
from pipegraph.sandbox.host import WARNING
from tests.support.processes import gone
from tests.support.tarballs import tarball


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "slug.tar.gz"
    path.write_bytes(tarball({"README": "hello from the slug\n", "bin/release": "#!/bin/sh\necho from script\n"}))
    return path


async def _run(
    sandbox: Sandbox, blob: Path, command: str, *, config_vars: dict[str, str] | None = None, limit: float = 5
) -> ReleasePhaseResult:
    streamed: list[str] = []

    async def on_line(line: str) -> None:
        streamed.append(line)

    request = ReleasePhaseRequest(
        blob=blob, command=command, config_vars=config_vars or {}, stack="heroku-24", commit="abc123", timeout=limit
    )
    result: ReleasePhaseResult = await LocalProcessRunner(sandbox).run(request, on_line)
    assert streamed == result.lines  # each line was handed over as it came, none held back
    if not sandbox.isolated and result.lines:
        assert result.lines[0] == WARNING  # said in every log, and left out of the comparisons below
        del result.lines[0]
    return result


async def test_runs_in_the_slug_app_folder_and_captures_stdout_and_stderr_in_order(
    sandbox: Sandbox, blob: Path
) -> None:
    result = await _run(sandbox, blob, "cat README; echo to-stderr >&2; ./bin/release; basename $(pwd)")
    assert result.succeeded
    assert result.lines == ["hello from the slug", "to-stderr", "from script", "app"]


async def test_environment_is_the_config_vars_plus_dyno_basics_and_nothing_of_the_worker(
    sandbox: Sandbox, blob: Path
) -> None:
    assert "PYTEST_CURRENT_TEST" in os.environ
    result = await _run(
        sandbox, blob, "env | sort", config_vars={"DATABASE_URL": "postgres://db/prod", "MODE": "production"}
    )
    env = dict(line.split("=", 1) for line in result.lines if "=" in line)
    assert env["DATABASE_URL"] == "postgres://db/prod"
    assert env["MODE"] == "production"
    assert (env["DYNO"], env["PORT"], env["STACK"]) == ("release.1", "5000", "heroku-24")
    assert env["SOURCE_VERSION"] == "abc123"
    assert "PYTEST_CURRENT_TEST" not in env


async def test_each_run_gets_a_fresh_extraction(sandbox: Sandbox, blob: Path) -> None:
    first = await _run(sandbox, blob, "echo changed > README; touch leftover; ls")
    second = await _run(sandbox, blob, "cat README; ls")
    assert "leftover" in first.lines
    assert second.lines == ["hello from the slug", "README", "bin"]


async def test_a_failing_command_reports_its_exit_status(sandbox: Sandbox, blob: Path) -> None:
    result = await _run(sandbox, blob, "echo trying; exit 3")
    assert (result.succeeded, result.exit_code, result.lines) == (False, 3, ["trying"])
    assert result.error_message(5) == "release command exited with status 3"


async def test_a_timeout_kills_the_whole_process_group(sandbox: Sandbox, blob: Path) -> None:
    # given a command that leaves a child behind and never ends (its argument makes it findable from outside)
    marker = f"{random.randint(600, 699)}.{random.randint(1, 999999)}"
    command = f"sleep {marker} & echo started; wait"

    # when it outlives its timeout
    result = await _run(sandbox, blob, command, limit=1)

    # then it is reported as timed out, with what it printed, and its child is gone too
    assert result.timed_out
    assert result.lines == ["started"]
    assert result.error_message(1) == "release phase timed out after 1s"
    assert await gone(marker)


async def test_a_slug_entry_escaping_the_folder_is_refused_not_extracted(sandbox: Sandbox, tmp_path: Path) -> None:
    # given a tarball (not validated, as if written straight to the store) with a path outside ./app/
    blob = tmp_path / "evil.tar.gz"
    blob.write_bytes(tarball({"../../escaped": "x"}, root="./app/"))

    # when its release phase runs
    result = await _run(sandbox, blob, "echo should not run")

    # then nothing ran, nothing escaped, and the reason is given
    assert not result.succeeded
    assert result.lines == []
    assert (result.error_message(5) or "").startswith("slug could not be extracted:")
    assert not (tmp_path.parent / "escaped").exists()
