"""ci, ci:info, ci:last, ci:run, ci:rerun, ci:cancel and ci:enable through the real CLI against a live server whose
worker runs the tests: live output, the exit status of a failing run, --json shapes, refusals."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ci_scene import shop_tree
from tests.support.client_scene import LiveApi, start_dev
from tests.support.git_scene import git_env

PASSING = 'echo "12 tests pass"'
FAILING = 'echo "1 test failed: cart totals"; exit 1'
SLOW = 'echo "waiting for the database"; sleep 300'


@dataclass
class Scene:
    live: LiveApi
    tree: Path
    passing: str  # the commits pushed to shop-staging, in this order; main ends at `failing`
    slow: str
    failing: str


def _git(tree: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=tree, env=git_env(tree), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _commit(tree: Path, test_body: str, message: str) -> str:
    for name, content in shop_tree(test_body=test_body).items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if name.startswith("bin/"):
            path.chmod(0o755)
    _git(tree, "add", "-A")
    _git(tree, "commit", "--quiet", "-m", message)
    return _git(tree, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """Pipeline shop (shop-staging) with three commits pushed to its app before CI was turned on (so no push started
    a run): tests that pass, tests that hang, and tests that fail, at main's tip. Pipeline plain has CI off."""
    tmp = tmp_path_factory.mktemp("client-ci")
    for server in start_dev(tmp):
        server.pipeline("shop", {"shop-staging": "staging"})
        server.pipeline("plain", {"plain-staging": "staging"})
        server.create_app("loose-app")
        tree = tmp / "shop"
        tree.mkdir()
        _git(tree, "init", "--quiet", "--initial-branch=main")
        remote = server.url.replace("http://", f"http://git:{server.token}@") + "/git/shop-staging.git"
        commits = []
        for body, message in [(PASSING, "Cart totals"), (SLOW, "Wait for the database"), (FAILING, "Break totals")]:
            commits.append(_commit(tree, body, message))
            _git(tree, "push", "--quiet", remote, "main")
        enabled = server.cli("ci:enable", "-p", "shop")
        assert (enabled.returncode, enabled.stderr) == (0, "Enabling CI on the shop pipeline... done\n")
        yield Scene(server, tree, *commits)


def _number(stderr: str) -> int:
    match = re.search(r"^Test run #(\d+) of ", stderr, re.MULTILINE)
    assert match, stderr
    return int(match.group(1))


def test_ci_run_streams_a_passing_run_and_exits_0(scene: Scene) -> None:
    # when the passing commit is tested
    result = scene.live.cli("ci:run", "-p", "shop", "--commit", scene.passing[:10])

    # then the run's output came as it ran (the buildpack, the test script), ending with Heroku CI's summary line
    assert result.returncode == 0, result.stderr
    number = _number(result.stderr)
    assert result.stderr.startswith(f"Starting a test run of commit {scene.passing[:7]} in shop... done\n")
    lines = result.stdout.splitlines()
    assert "12 tests pass" in lines
    assert lines[-1] == f"✓ #{number} main:{scene.passing[:7]} succeeded"


def test_ci_run_exits_1_when_the_tests_fail(scene: Scene) -> None:
    # when main's tip (whose tests fail) is tested by branch, and from the work tree with nothing named (git's HEAD)
    by_branch = scene.live.cli("ci:run", "-a", "shop-staging", "--branch", "main")
    from_here = scene.live.cli("ci:run", "-p", "shop", cwd=scene.tree)

    # then both streamed the failure and exit 1, like Heroku's ci:run
    for result in (by_branch, from_here):
        assert result.returncode == 1, result.stderr
        assert "1 test failed: cart totals" in result.stdout.splitlines()
        assert result.stdout.splitlines()[-1] == f"✗ #{_number(result.stderr)} main:{scene.failing[:7]} failed"
        assert "Traceback" not in result.stderr
    assert "Starting a test run of branch main in shop... done" in by_branch.stderr
    assert f"Starting a test run of commit {scene.failing[:7]} in shop... done" in from_here.stderr


def test_cancelling_a_followed_run_ends_it_with_exit_1(scene: Scene) -> None:
    # given the hanging tests followed live, once they printed their first line
    process, _ = scene.live.start_cli("ci:run", "-p", "shop", "--commit", scene.slow, until="waiting for the database")

    # when the run is cancelled from another terminal
    listed = json.loads(scene.live.cli("ci", "-p", "shop", "--json").stdout)
    number = next(run["number"] for run in listed if run["status"] == "RUNNING")
    cancelled = scene.live.cli("ci:cancel", str(number), "-p", "shop")
    stdout, stderr = process.communicate(timeout=60)

    # then the follower ends with the cancelled summary and exit 1; cancelling it again is refused
    assert (cancelled.returncode, cancelled.stderr) == (0, f"Cancelling test run #{number} of shop... done\n")
    assert process.returncode == 1, stderr
    assert stdout.splitlines()[-1] == f"! #{number} main:{scene.slow[:7]} cancelled"
    assert "cancelled by dev@localhost" in stderr
    again = scene.live.cli("ci:cancel", str(number), "-p", "shop")
    assert again.returncode == 1
    assert again.stderr.endswith("(TEST_RUN_FINISHED)\n"), again.stderr


def test_ctrl_c_leaves_the_run_going_and_says_how_to_follow_it_again(scene: Scene) -> None:
    # given the hanging tests followed live
    process, _ = scene.live.start_cli("ci:run", "-p", "shop", "--commit", scene.slow, until="waiting for the database")

    # when the user presses Ctrl-C
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    # then the CLI stops with 130, saying how to follow the run again, and the run goes on
    assert process.returncode == 130, stderr
    match = re.search(r"pipegraph ci:info (\d+) -p shop --follow", stderr.split("Stopped following")[-1])
    assert match, stderr
    assert "Traceback" not in stderr
    number = match.group(1)
    running = json.loads(scene.live.cli("ci:info", number, "-p", "shop", "--json").stdout)
    assert running["status"] == "RUNNING"
    # and following it again replays its output from the first line, up to its end
    scene.live.cli("ci:cancel", number, "-p", "shop")
    followed = scene.live.cli("ci:info", number, "-p", "shop", "--follow")
    assert followed.returncode == 1
    assert "waiting for the database" in followed.stdout.splitlines()
    assert followed.stdout.endswith(f"! #{number} main:{scene.slow[:7]} cancelled\n")


def test_listing_info_last_and_their_json(scene: Scene) -> None:
    # given a passing run and a failing one
    passed = scene.live.cli("ci:run", "-p", "shop", "--commit", scene.passing)
    failed = scene.live.cli("ci:run", "-p", "shop", "--commit", scene.failing)
    first, last = _number(passed.stderr), _number(failed.stderr)

    # when the runs are listed, shown, and the last one shown, as tables and as JSON
    listing = scene.live.cli("ci", "-a", "shop-staging")
    as_json = json.loads(scene.live.cli("ci", "-p", "shop", "--json").stdout)
    info = scene.live.cli("ci:info", str(first), "-p", "shop")
    info_json = json.loads(scene.live.cli("ci:info", str(first), "-p", "shop", "--json").stdout)
    latest = scene.live.cli("ci:last", "-p", "shop")

    # then the list is newest first, with Heroku CI's marks, and the JSON keeps the API's field names
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0] == "=== Showing latest test runs for the shop pipeline"
    assert re.match(rf"✗\s+#{last}\s+main\s+{scene.failing[:7]}\s+failed\s+dev@localhost\s", lines[2]), lines
    assert re.match(rf"✓\s+#{first}\s+main\s+{scene.passing[:7]}\s+succeeded\s", lines[3]), lines
    assert [run["number"] for run in as_json] == sorted((run["number"] for run in as_json), reverse=True)
    assert set(as_json[0]) == {
        "id",
        "number",
        "status",
        "commitBranch",
        "commitSha",
        "commitMessage",
        "message",
        "actor",
        "createdAt",
        "startedAt",
        "finishedAt",
    }
    assert (as_json[0]["number"], as_json[0]["status"], as_json[0]["actor"]) == (
        last,
        "FAILED",
        {"email": "dev@localhost"},
    )
    # and a run's page has its facts, its output and the summary line
    assert info.returncode == 0, info.stderr
    assert info.stdout.startswith(f"=== Test run #{first} of shop: succeeded\nBranch: ")
    assert re.search(rf"^Commit:\s+{scene.passing} Cart totals$", info.stdout, re.MULTILINE)
    assert re.search(r"^Exit code:\s+0$", info.stdout, re.MULTILINE)
    assert "\n12 tests pass\n" in info.stdout
    assert info.stdout.endswith(f"\n✓ #{first} main:{scene.passing[:7]} succeeded\n")
    assert info_json["number"] == first
    assert info_json["nodes"] == [{"index": 0, "status": "SUCCEEDED", "exitCode": 0, "message": None}]
    assert "12 tests pass" in info_json["output"]
    assert latest.stdout.startswith(f"=== Test run #{last} of shop: failed\n")
    assert latest.stdout.endswith(f"✗ #{last} main:{scene.failing[:7]} failed\n")


def test_rerun_tests_the_same_commit_again(scene: Scene) -> None:
    # given a passing run
    earlier = _number(scene.live.cli("ci:run", "-p", "shop", "--commit", scene.passing).stderr)

    # when it is run again by number, and the latest run is run again with no number
    again = scene.live.cli("ci:rerun", str(earlier), "-p", "shop")
    latest = scene.live.cli("ci:rerun", "-a", "shop-staging")

    # then each is a new run of the same commit on the same branch (the run is rerun, not its commit looked up
    # again), followed to its end
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith(
        f"Starting a test run of #{earlier} again (main:{scene.passing[:7]}) in shop... done"
    )
    number = _number(again.stderr)
    assert number > earlier
    assert again.stdout.splitlines()[-1] == f"✓ #{number} main:{scene.passing[:7]} succeeded"
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.splitlines()[-1] == f"✓ #{number + 1} main:{scene.passing[:7]} succeeded"


def test_ci_run_here_records_the_branch_checked_out_and_a_rerun_keeps_it(scene: Scene) -> None:
    # given a work tree on a branch of its own, at a commit the pipeline's app has only on main
    here = scene.tree.parent / "checkout-work-tree"
    _git(scene.tree.parent, "clone", "--quiet", str(scene.tree), str(here))
    _git(here, "checkout", "--quiet", "-b", "checkout", scene.passing)

    # when its commit is tested from there, with nothing named, then that run is run again
    tested = scene.live.cli("ci:run", "-p", "shop", cwd=here)
    number = _number(tested.stderr)
    again = scene.live.cli("ci:rerun", str(number), "-p", "shop")

    # then the run was recorded on the branch checked out (the commit alone would be on main, the app's branch
    # holding it), and so was its rerun
    assert tested.returncode == 0, tested.stderr
    assert f"Test run #{number} of checkout:{scene.passing[:7]}" in tested.stderr
    assert tested.stdout.splitlines()[-1] == f"✓ #{number} checkout:{scene.passing[:7]} succeeded"
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith(
        f"Starting a test run of #{number} again (checkout:{scene.passing[:7]}) in shop... done"
    )
    assert again.stdout.splitlines()[-1] == f"✓ #{_number(again.stderr)} checkout:{scene.passing[:7]} succeeded"


def test_refusals_print_the_api_message_and_code(scene: Scene) -> None:
    # when runs are asked of a pipeline without CI, of a commit no app has, of a number that does not exist, of an
    # app outside any pipeline, of no pipeline at all, by someone who cannot see the pipeline
    no_ci = scene.live.cli("ci:run", "-p", "plain", "--branch", "main")
    no_commit = scene.live.cli("ci:run", "-p", "shop", "--commit", "0123456789abcdef")
    no_run = scene.live.cli("ci:info", "999", "-p", "shop")
    loose = scene.live.cli("ci", "-a", "loose-app")
    nothing = scene.live.cli("ci")
    stranger = scene.live.cli("ci", "-p", "shop", token=scene.live.user("mallory@example.com"))
    off = scene.live.cli("ci", "-p", "plain")

    # then each exits non-zero with the API's words and code (or click's usage error), with no traceback
    assert (no_ci.returncode, no_ci.stderr.splitlines()[-1]) == (
        1,
        "Error: pipeline plain does not have CI on: enableCi first (CI_NOT_ENABLED)",
    )
    assert no_commit.returncode == 1
    assert no_commit.stderr.endswith("push it to one of its apps first (COMMIT_NOT_FOUND)\n"), no_commit.stderr
    assert (no_run.returncode, no_run.stderr) == (1, "Error: test run #999 of shop not found (NOT_FOUND)\n")
    assert loose.returncode == 1
    assert loose.stderr.endswith("(loose-app) does not seem to be a part of any pipeline (APP_NOT_IN_PIPELINE)\n")
    assert nothing.returncode == 2
    assert "name a pipeline with -p PIPELINE, or one of its apps with -a APP" in nothing.stderr
    assert (stranger.returncode, stranger.stderr) == (1, "Error: pipeline shop not found (NOT_FOUND)\n")
    # and a pipeline with CI off lists no runs, saying how to turn CI on
    assert (off.returncode, off.stdout) == (0, "No test runs found for the plain pipeline.\n")
    assert "pipegraph ci:enable -p plain" in off.stderr
