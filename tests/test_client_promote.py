"""pipelines:promote and pipelines:promotion as a user runs them: live progress, exit status, Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.client_scene import PIPEGRAPH, LiveApi, start_dev

SET_VARS = "mutation($i: SetConfigVarsInput!) { setConfigVars(input: $i) { userErrors { message } } }"
# Fails where FAIL is set, sleeps SLOW seconds first where that is set: the target's own config vars decide.
RELEASE_SCRIPT = 'sleep "${SLOW:-0}"\necho "migrating for ${NAME:-nobody}"\n[ -z "$FAIL" ]\n'


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """shop-staging → shop-ok and shop-bad (whose release phase fails); slow-staging → slow-prod (takes 3 s)."""
    for server in start_dev(tmp_path_factory.mktemp("client-promote")):
        server.pipeline("shop", {"shop-staging": "staging", "shop-ok": "production", "shop-bad": "production"})
        server.pipeline("slow", {"slow-staging": "staging", "slow-prod": "production"})
        for app, vars in {"shop-ok": {"NAME": "ok"}, "shop-bad": {"FAIL": "1"}, "slow-prod": {"SLOW": "3"}}.items():
            server.gql(SET_VARS, {"i": {"app": app, "vars": vars}})
        for app in ("shop-staging", "slow-staging"):
            server.deploy(app, commit="a" * 40, release_script=RELEASE_SCRIPT)
            server.wait_released(app, 1)
        yield server


def test_promote_follows_every_target_and_exits_1_when_one_failed(live: LiveApi) -> None:
    # when the staging app is promoted to its two production apps, one of whose release phase fails
    result = live.cli("pipelines:promote", "-a", "shop-staging", "--verbose")

    # then it announced the stage, showed each target's steps and its release log, and ended with each outcome
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Starting promotion to production..."
    order = ["queued", "copying slug", "updating stack", "release phase"]
    for app, outcome in (("shop-ok", "succeeded, v1"), ("shop-bad", "failed: release command exited with status 1")):
        # the subscription starts from the state at that moment (a fast worker may be past the first steps)
        steps = [line.removeprefix(f"⬢ {app}: ") for line in lines if line.startswith(f"⬢ {app}: ")]
        assert steps[-1] == outcome
        assert [order.index(step) for step in steps[:-1]] == sorted({order.index(step) for step in steps[:-1]})
    assert "shop-ok | migrating for ok" in lines
    assert "shop-bad | migrating for nobody" in lines
    assert lines[-2:] == ["shop-bad: failed release command exited with status 1", "shop-ok: succeeded"]
    assert "Promotion to some apps failed" in result.stderr
    # and the release log lines come only with --verbose
    quiet = live.cli("pipelines:promote", "-a", "shop-staging", "--to", "shop-ok")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.splitlines()[0] == "Starting promotion to apps: shop-ok..."
    assert not any(" | " in line for line in quiet.stdout.splitlines())
    assert quiet.stdout.endswith("shop-ok: succeeded\n")
    assert "\nPromotion successful\n" in quiet.stdout


def test_promote_a_chosen_release_and_refusals(live: LiveApi) -> None:
    # when release v1 is promoted by name, from a production app, and a release that does not exist
    chosen = live.cli("pipelines:promote", "-a", "shop-staging", "--to", "shop-ok", "--release", "v1")
    from_production = live.cli("pipelines:promote", "-a", "shop-ok")
    missing = live.cli("pipelines:promote", "-a", "shop-staging", "--release", "v99")

    # then the first succeeds, and the others print the API's message and code and exit 1, with no traceback
    assert chosen.returncode == 0, chosen.stderr
    assert from_production.returncode == 1
    assert "Cannot promote shop-ok from 'production' stage" in from_production.stderr
    assert from_production.stderr.rstrip().endswith("(CANNOT_PROMOTE_FROM_STAGE)")
    assert missing.returncode == 1
    assert re.fullmatch(r"Error: .*v99.* \(NOT_FOUND\)\n", missing.stderr), missing.stderr
    assert "Traceback" not in from_production.stderr + missing.stderr


def test_ctrl_c_leaves_the_promotion_running_and_says_how_to_follow_it_again(live: LiveApi) -> None:
    # given a promotion followed live, whose release phase takes a few seconds
    process, _ = live.start_cli("pipelines:promote", "-a", "slow-staging", until="⬢ slow-prod: release phase")

    # when the user presses Ctrl-C
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    # then the CLI stops with 130 and says how to follow the promotion again
    assert process.returncode == 130, stderr
    match = re.search(r"pipegraph pipelines:promotion (\S+) --follow", stderr.split("Stopped following")[-1])
    assert match, stderr
    assert "Traceback" not in stderr
    promotion_id = match.group(1)
    # and the promotion is still running, then completes by itself: following it again ends with its outcome
    # (looked at again by a new process: on a loaded machine the 3 s release phase may be over by then, so "still
    # running" is not asserted as a state of that moment; that it completes without the CLI following it is)
    running = json.loads(live.cli("pipelines:promotion", promotion_id, "--json").stdout)
    assert running["status"] in {"PENDING", "COMPLETED"}
    followed = live.cli("pipelines:promotion", promotion_id, "--follow")
    assert followed.returncode == 0, followed.stderr
    assert followed.stdout.endswith("slow-prod: succeeded\n")
    done = json.loads(live.cli("pipelines:promotion", promotion_id, "--json").stdout)
    assert done["status"] == "COMPLETED"
    assert [(t["app"]["name"], t["status"], t["release"]["version"]) for t in done["targets"]] == [
        ("slow-prod", "SUCCEEDED", 1)
    ]


def test_promotion_shows_a_finished_promotion_and_its_json_shape(live: LiveApi) -> None:
    # given a finished promotion with a failed target
    started = live.cli("pipelines:promote", "-a", "shop-staging", "--to", "shop-bad")
    promotion_id = re.search(r"pipelines:promotion (\S+) --follow", started.stderr).group(1)  # type: ignore[union-attr]

    # when it is shown as a table and as JSON
    shown = live.cli("pipelines:promotion", promotion_id)
    as_json = json.loads(live.cli("pipelines:promotion", promotion_id, "--json").stdout)

    # then both tell its targets' outcome; the JSON has the documented keys
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("=== Promotion of shop-staging v1 in shop: completed\n")
    assert re.search(r"shop-bad\s+failed\s+done\s+v\d+\s+release command exited with status 1", shown.stdout)
    assert set(as_json) == {
        "id",
        "status",
        "createdAt",
        "completedAt",
        "pipeline",
        "source",
        "sourceRelease",
        "createdBy",
        "targets",
    }
    assert as_json["targets"][0]["status"] == "FAILED"
    assert as_json["targets"][0]["errorMessage"] == "release command exited with status 1"
    # and following a finished promotion reports it at once, with its exit status
    again = live.cli("pipelines:promotion", promotion_id, "--follow")
    assert again.returncode == 1
    assert again.stdout.endswith("shop-bad: failed release command exited with status 1\n")
    # and an ID that is no promotion is not found
    unknown = live.cli("pipelines:promotion", "UHJvbW90aW9uOjk5OTk=")
    assert (unknown.returncode, unknown.stderr) == (1, "Error: promotion UHJvbW90aW9uOjk5OTk= not found (NOT_FOUND)\n")


def test_on_a_terminal_the_progress_is_a_live_display(live: LiveApi) -> None:
    # given the CLI's output going to a terminal (a pseudo-terminal here)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [PIPEGRAPH, "pipelines:promote", "-a", "shop-staging", "--to", "shop-ok"],
        env={**live.cli_env(), "TERM": "xterm-256color", "COLUMNS": "100"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    with contextlib.suppress(OSError):  # reading the leader fails with EIO once the process has gone
        while chunk := os.read(leader, 4096):
            shown += chunk
    os.close(leader)

    # then it drew progress bars that it redrew in place, and still ended with the outcome
    assert process.wait(timeout=30) == 0
    text = shown.decode()
    assert "━" in text
    assert "\x1b[" in text
    assert "⬢ shop-ok" in text
    assert text.rstrip().endswith("shop-ok: succeeded")
