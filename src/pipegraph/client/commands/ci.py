"""ci, ci:info, ci:last, ci:run, ci:rerun, ci:cancel, ci:enable and ci:disable: a pipeline's test runs, as Heroku
CI's commands show them, with a run's output followed live over the `testRunLog` subscription."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import click

from pipegraph.client.api import Api, ApiError
from pipegraph.client.commands.base import (
    command,
    connect,
    json_option,
    pipeline_of,
    pipeline_options,
    which_pipeline,
)
from pipegraph.client.output import action, emit_json, first_line, header, table, when
from pipegraph.client.output import fields as show_fields
from pipegraph.client.progress import log_lines

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, as for pipelines:promote
LISTED = 15  # Heroku's `ci` shows the latest 15 runs
# Heroku CI's marks before a run's number.
ICONS = {"SUCCEEDED": "✓", "FAILED": "✗", "ERRORED": "!", "CANCELLED": "!"}


def icon(status: str) -> str:
    return ICONS.get(status, "-")


def summary_line(run: dict[str, Any]) -> str:
    """Heroku CI's one-line summary: `✓ #3 main:1a2b3c4 succeeded`."""
    commit = f"{run['commitBranch']}:{run['commitSha'][:7]}"
    return f"{icon(run['status'])} #{run['number']} {commit} {run['status'].lower()}"


def _runs(api: Api, key: dict[str, str], count: int) -> dict[str, Any]:
    return pipeline_of(api, "test_runs", key, first=count)


def _run(api: Api, key: dict[str, str], number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pipeline and its run #number."""
    pipeline = pipeline_of(api, "test_run", key, number=number)
    if pipeline["testRun"] is None:
        raise ApiError(f"test run #{number} of {pipeline['name']} not found", "NOT_FOUND")
    return pipeline, pipeline["testRun"]


def _latest_number(api: Api, key: dict[str, str]) -> tuple[str, int]:
    pipeline = _runs(api, key, 1)
    edges = pipeline["testRuns"]["edges"]
    if not edges:
        raise ApiError(f"No test runs found for the {pipeline['name']} pipeline.", "NOT_FOUND")
    return pipeline["name"], edges[0]["node"]["number"]


def follow_hint(pipeline: str, number: int) -> str:
    return f"pipegraph ci:info {number} -p {pipeline} --follow"


async def _stream_output(api: Api, run_id: str) -> None:
    """The run's lines so far, then each as it is printed."""
    async for text in log_lines(api, "test_run_log", "testRunLog", id=run_id):
        click.echo(text)


def follow(api: Api, pipeline: str, run_id: str, number: int) -> None:
    """Print the run's output live to its end, then its summary; exit 1 unless it succeeded (Heroku's rule). On
    Ctrl-C the run goes on: say how to follow it again."""
    try:
        asyncio.run(_stream_output(api, run_id))
    except KeyboardInterrupt:
        click.echo(
            f"\nStopped following; test run #{number} goes on without you. Follow it again with:\n"
            f"  {follow_hint(pipeline, number)}",
            err=True,
        )
        sys.exit(INTERRUPTED_EXIT_CODE)
    outcome: dict[str, Any] = api.query("test_run_outcome", id=run_id)["node"]
    click.echo(f"\n{summary_line(outcome)}")
    if outcome["message"]:
        click.echo(outcome["message"], err=True)
    if outcome["status"] != "SUCCEEDED":
        sys.exit(1)


@command(
    "ci",
    "List a pipeline's latest test runs, newest first.",
    "pipegraph ci -p shop",
    "pipegraph ci -a shop-staging --json",
)
@pipeline_options
@click.option("-n", "--num", default=LISTED, show_default=True, type=click.IntRange(1, 100), help="How many runs.")
@json_option
def ci_list(pipeline: str | None, app_name: str | None, num: int, as_json: bool) -> None:
    api = connect()
    found = _runs(api, which_pipeline(api, pipeline, app_name), num)
    runs = [edge["node"] for edge in found["testRuns"]["edges"]]
    if as_json:
        emit_json(runs)
        return
    if not found["ci"]["enabled"]:
        name = found["name"]
        click.echo(f"CI is off for {name}: pushes are not tested (pipegraph ci:enable -p {name})", err=True)
    if not runs:
        click.echo(f"No test runs found for the {found['name']} pipeline.")
        return
    header(f"Showing latest test runs for the {found['name']} pipeline")
    rows = [
        [
            icon(run["status"]),
            f"#{run['number']}",
            run["commitBranch"],
            run["commitSha"][:7],
            run["status"].lower(),
            run["actor"]["email"] if run["actor"] else "-",
            when(run["createdAt"]),
        ]
        for run in runs
    ]
    table(["", "run", "branch", "commit", "status", "by", "created"], rows)


def _show(pipeline: str, run: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json(run)
        return
    header(f"Test run #{run['number']} of {pipeline}: {run['status'].lower()}")
    node = run["nodes"][0] if run["nodes"] else None
    pairs = [
        ("Branch", run["commitBranch"]),
        ("Commit", f"{run['commitSha']} {first_line(run['commitMessage'])}".rstrip()),
        ("By", run["actor"]["email"] if run["actor"] else "-"),
        ("Created", when(run["createdAt"])),
        ("Started", when(run["startedAt"])),
        ("Finished", when(run["finishedAt"])),
        ("Exit code", str(node["exitCode"]) if node and node["exitCode"] is not None else "-"),
    ]
    if run["message"]:
        pairs.append(("Message", run["message"]))
    show_fields(pairs)
    if run["output"]:
        click.echo(f"\n{run['output']}")
    click.echo(f"\n{summary_line(run)}")


@command(
    "ci:info",
    "Show a test run and its output; --follow streams a running one to its end.",
    "pipegraph ci:info 3 -p shop",
    "pipegraph ci:info 3 -a shop-staging --follow",
    details="With --follow it exits 1 unless the run succeeded, as ci:run does.",
)
@click.argument("number", type=click.IntRange(1), metavar="NUMBER")
@pipeline_options
@click.option(
    "-f", "--follow", "follow_run", is_flag=True, help="Stream its output until it ends (exit 1 unless it succeeded)."
)
@json_option
def ci_info(number: int, pipeline: str | None, app_name: str | None, follow_run: bool, as_json: bool) -> None:
    api = connect()
    found, run = _run(api, which_pipeline(api, pipeline, app_name), number)
    if follow_run:
        follow(api, found["name"], run["id"], run["number"])
        return
    _show(found["name"], run, as_json=as_json)


@command(
    "ci:last",
    "Show the latest test run and its output.",
    "pipegraph ci:last -p shop",
    "pipegraph ci:last -a shop-staging --json",
)
@pipeline_options
@json_option
def ci_last(pipeline: str | None, app_name: str | None, as_json: bool) -> None:
    api = connect()
    key = which_pipeline(api, pipeline, app_name)
    name, number = _latest_number(api, key)
    _show(name, _run(api, {"name": name}, number)[1], as_json=as_json)


def _git_here(*args: str) -> str | None:
    """What git answers in the folder the command runs in; None when it is no git work tree or git says nothing."""
    try:
        found = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None


def _local_head() -> str | None:
    """The commit checked out where the command runs, if that is a git work tree (Heroku's ci:run tests it)."""
    return _git_here("rev-parse", "--verify", "--quiet", "HEAD")


def _local_branch() -> str | None:
    """The branch checked out where the command runs (None when HEAD is detached)."""
    return _git_here("symbolic-ref", "--short", "--quiet", "HEAD")


def _start(api: Api, in_pipeline: str, what: str, operation: str, **input: Any) -> dict[str, Any]:
    with action(f"Starting a test run of {what} in {in_pipeline}"):
        run: dict[str, Any] = api.mutate(operation, **input)["testRun"]
    click.echo(f"Test run #{run['number']} of {run['commitBranch']}:{run['commitSha'][:7]}", err=True)
    return run


@command(
    "ci:run",
    "Test a branch or a commit now and stream its output to the end.",
    "pipegraph ci:run -p shop --branch main",
    "pipegraph ci:run -a shop-staging --commit 1a2b3c4",
    "pipegraph ci:run -p shop",
    details="Without --branch or --commit it tests the commit checked out here (git's HEAD), which must have been "
    "pushed to one of the pipeline's apps (or be on its GitHub repository), recorded on the branch checked out here. "
    "--commit with --branch records that commit on that branch. Exits 1 unless the run succeeded. Ctrl-C stops "
    "following, not the run.",
)
@pipeline_options
@click.option("-b", "--branch", help="Test the commit this branch points at (with --commit: the run's branch).")
@click.option("-c", "--commit", help="Test this commit (a full or abbreviated sha).")
def ci_run(pipeline: str | None, app_name: str | None, branch: str | None, commit: str | None) -> None:
    api = connect()
    key = which_pipeline(api, pipeline, app_name)
    if not branch and not commit:
        commit = _local_head()
        if commit is None:
            raise click.UsageError("not in a git work tree: name what to test with --branch or --commit")
        # The branch checked out, as Heroku's ci:run records it: the commit alone would be recorded on whichever
        # branch of the pipeline's repositories holds it first.
        branch = _local_branch()
    name = _pipeline_name(api, key)
    what = f"commit {commit[:7]}" if commit else f"branch {branch}"
    run = _start(api, name, what, "create_test_run", pipeline=name, branch=branch, commit=commit)
    follow(api, name, run["id"], run["number"])


@command(
    "ci:rerun",
    "Test the commit of an earlier run again (the latest run by default) and stream its output.",
    "pipegraph ci:rerun -p shop",
    "pipegraph ci:rerun 3 -a shop-staging",
    details="The new run tests the same commit, recorded on the same branch; exits 1 unless it succeeded.",
)
@click.argument("number", type=click.IntRange(1), metavar="[NUMBER]", required=False)
@pipeline_options
def ci_rerun(number: int | None, pipeline: str | None, app_name: str | None) -> None:
    api = connect()
    key = which_pipeline(api, pipeline, app_name)
    if number is None:
        name, number = _latest_number(api, key)
        key = {"name": name}
    found, earlier = _run(api, key, number)
    # The run itself, not its commit: a commit looked up again may be recorded on another branch.
    what = f"#{number} again ({earlier['commitBranch']}:{earlier['commitSha'][:7]})"
    run = _start(api, found["name"], what, "rerun_test_run", id=earlier["id"])
    follow(api, found["name"], run["id"], run["number"])


@command(
    "ci:cancel",
    "Stop a test run that has not ended: its processes are killed.",
    "pipegraph ci:cancel 3 -p shop",
)
@click.argument("number", type=click.IntRange(1), metavar="NUMBER")
@pipeline_options
def ci_cancel(number: int, pipeline: str | None, app_name: str | None) -> None:
    api = connect()
    found, run = _run(api, which_pipeline(api, pipeline, app_name), number)
    with action(f"Cancelling test run #{number} of {found['name']}"):
        api.mutate("cancel_test_run", id=run["id"])


def _pipeline_name(api: Api, key: dict[str, str]) -> str:
    name: str = pipeline_of(api, "test_runs", key, first=1)["name"]
    return name


def _switch(operation: str, pipeline: str | None, app_name: str | None, verb: str) -> None:
    api = connect()
    name = _pipeline_name(api, which_pipeline(api, pipeline, app_name))
    with action(f"{verb} CI on the {name} pipeline"):
        api.mutate(operation, pipeline=name)


@command(
    "ci:enable",
    "Test every push to the pipeline's apps (and its GitHub repository).",
    "pipegraph ci:enable -p shop",
)
@pipeline_options
def ci_enable(pipeline: str | None, app_name: str | None) -> None:
    _switch("enable_ci", pipeline, app_name, "Enabling")


@command("ci:disable", "Stop testing pushes; runs already started go on.", "pipegraph ci:disable -p shop")
@pipeline_options
def ci_disable(pipeline: str | None, app_name: str | None) -> None:
    _switch("disable_ci", pipeline, app_name, "Disabling")


COMMANDS = [ci_list, ci_info, ci_last, ci_run, ci_rerun, ci_cancel, ci_enable, ci_disable]
