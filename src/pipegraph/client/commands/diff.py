"""pipelines:diff: how far an app is ahead of (or behind) its downstream apps, and by which commits (no GitHub).

From git history first: the API's `compare` walks the apps' own repositories (what `git push` deployed), so every
commit counts, with its author and message. Where that cannot answer (a release from a tarball or a slug, whose
commit pipegraph's repositories do not hold), from the release history instead: the commits of the slugs released to
each app, walked back from the current release; commits never released to either app are not counted there, and the
output says so.
"""

from __future__ import annotations

from typing import Any

import click

from pipegraph.client.api import Api, ApiError
from pipegraph.client.commands.base import app, app_option, command, connect, json_option
from pipegraph.client.output import app_label, emit_json, first_line, header, table, when

NEXT_STAGE = {"DEVELOPMENT": "STAGING", "STAGING": "PRODUCTION"}
BASIS = "release history: commits of the slugs released to each app (the last 100 releases of each)"
GIT = "git"
RELEASES = "releases"


def _released_commits(releases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Succeeded releases from the current one back, one entry per commit change, newest first."""
    nodes = [edge["node"] for edge in releases]
    start = next((index for index, node in enumerate(nodes) if node["current"]), None)
    if start is None:
        return []
    commits: list[dict[str, Any]] = []
    for node in nodes[start:]:
        if node["status"] != "SUCCEEDED":
            continue
        commit = node["slug"]["commit"]
        if commits and commits[-1]["sha"] == commit:
            continue
        commits.append(
            {
                "sha": commit,
                "date": node["slug"]["createdAt"],
                "author": node["createdBy"]["email"] if node["createdBy"] else None,
                "message": first_line(node["slug"]["commitDescription"]),
                "release": node["version"],
            }
        )
    return commits


def _compare(source: list[dict[str, Any]], downstream: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    if not downstream:
        return "no-releases", []
    ahead_sha, behind_sha = source[0]["sha"], downstream[0]["sha"]
    if ahead_sha is None or behind_sha is None:
        return "no-commit", []
    if ahead_sha == behind_sha:
        return "up-to-date", []
    shas = [entry["sha"] for entry in source]
    if behind_sha in shas:
        return "ahead", list(reversed(source[: shas.index(behind_sha)]))
    shas = [entry["sha"] for entry in downstream]
    if ahead_sha in shas:
        return "behind", list(reversed(downstream[: shas.index(ahead_sha)]))
    return "unrelated", []


def diff(app_name: str) -> dict[str, Any]:
    api = connect()
    found = app(api, "pipeline_diff", app_name)
    name = found["name"]
    if found["pipeline"] is None:
        raise ApiError(f"This app ({name}) does not seem to be a part of any pipeline", "APP_NOT_IN_PIPELINE")
    apps = {a["name"]: a for stage in found["pipeline"]["stages"] for a in stage["apps"]}
    next_stage = NEXT_STAGE.get(found["stage"])
    targets = [a for s in found["pipeline"]["stages"] if s["name"] == next_stage for a in s["apps"]]
    if not targets:
        raise ApiError(f"Cannot diff {name} as there are no downstream apps configured", "NO_DOWNSTREAM_APPS")
    source = _released_commits(apps[name]["releases"]["edges"])
    if not source:
        raise ApiError(f"No release was found for {name}, unable to diff", "NO_SUCCEEDED_RELEASE")
    rows = []
    for target in targets:
        row = _git_compare(api, name, target["name"])
        if row is None:
            history = _released_commits(target["releases"]["edges"])
            status, commits = _compare(source, history)
            row = {
                "app": target["name"],
                "commit": history[0]["sha"] if history else None,
                "status": status,
                "commits": commits,
                "basis": RELEASES,
            }
        rows.append(row)
    return {
        "app": name,
        "pipeline": found["pipeline"]["name"],
        "commit": source[0]["sha"],
        "basis": f"{GIT} history where both apps run a pushed commit, else {BASIS}",
        "downstream": rows,
    }


def _git_compare(api: Api, name: str, other: str) -> dict[str, Any] | None:
    """The row from the apps' git history, or None where it cannot tell (a commit its repositories do not hold)."""
    compared = _comparison(api, name, other)
    if compared is None:
        return None
    ahead, behind = compared["ahead"], compared["behind"]
    status = "diverged" if ahead and behind else "ahead" if ahead else "behind" if behind else "up-to-date"
    commits = compared["commits"]
    if status == "behind":  # the commits it lacks are the ones the other app is ahead by
        commits = (_comparison(api, other, name) or {"commits": []})["commits"]
    return {
        "app": other,
        "commit": compared["withCommit"],
        "status": status,
        "ahead": ahead,
        "behind": behind,
        # oldest first, as Heroku lists them
        "commits": [{**commit, "message": first_line(commit["message"])} for commit in reversed(commits)],
        "basis": GIT,
    }


def _comparison(api: Api, name: str, other: str) -> dict[str, Any] | None:
    """The API's git comparison, or None where git cannot tell (NotComparable: an app never built from git), or the
    other app may not be cloned by this viewer: the release history may still tell."""
    try:
        compared: dict[str, Any] | None = api.query("app_compare", name=name, **{"with": other})["app"]["comparison"]
    except ApiError as error:
        if error.code == "BAD_USER_INPUT":
            return None
        raise
    return compared if compared is not None and compared["__typename"] == "AppComparison" else None


def _commits(count: int) -> str:
    return f"{count} commit" if count == 1 else f"{count} commits"


def _print(result: dict[str, Any]) -> None:
    source = app_label(result["app"])
    for row in result["downstream"]:
        other = app_label(row["app"])
        # git's counts where git answered (the list stops at 100), else the commits the release history holds
        count = row.get("behind" if row["status"] == "behind" else "ahead") or len(row["commits"])
        if row["status"] in {"ahead", "behind", "diverged"}:
            if row["status"] == "diverged":
                header(
                    f"{source} and {other} have diverged: {source} has {_commits(row['ahead'])} that {other} has "
                    f"not, and {other} {_commits(row['behind'])} that {source} has not"
                )
            else:
                relation = "ahead of" if row["status"] == "ahead" else "behind"
                header(f"{source} is {relation} {other} by {_commits(count)}")
            table(
                ["sha", "date", "author", "message"],
                [[(c["sha"] or "")[:7], when(c["date"]), c["author"] or "-", c["message"]] for c in row["commits"]],
            )
        elif row["status"] == "up-to-date":
            click.echo(f"{source} is up to date with {other}")
        elif row["status"] == "no-releases":
            click.echo(f"{source} was not compared to {other} as {other} does not have any releases")
        elif row["status"] == "no-commit":
            click.echo(f"{source} was not compared to {other}: a current release has no commit recorded")
        else:
            click.echo(
                f"{source} ({(result['commit'] or '')[:7]}) and {other} ({(row['commit'] or '')[:7]}) run commits "
                "that neither's release history relates: pipegraph cannot tell which is ahead"
            )
        click.echo()
    if any(row["basis"] == RELEASES for row in result["downstream"]):
        click.echo(f"Compared by {BASIS}; commits never released to either app are not counted.", err=True)


@command(
    "pipelines:diff",
    "Compare an app with its downstream apps: ahead or behind, and by which commits (no GitHub needed).",
    "pipegraph pipelines:diff -a shop-staging",
    "pipegraph pipelines:diff -a shop-staging --json",
)
@app_option
@json_option
def pipelines_diff(app_name: str, as_json: bool) -> None:
    result = diff(app_name)
    if as_json:
        emit_json(result)
    else:
        _print(result)


COMMANDS = [pipelines_diff]
