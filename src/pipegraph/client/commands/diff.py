"""pipelines:diff: how far an app is ahead of (or behind) its downstream apps, from pipegraph's own release history.

Until the API can compare two commits itself, the only commits pipegraph knows are those of the slugs released to each
app. So the diff walks the source's release history back from its current release to the commit the downstream app
runs (ahead), or the other way round (behind); commits that were never released to either app are not counted, and the
output says so.
"""

from __future__ import annotations

from typing import Any

import click

from pipegraph.client.api import ApiError
from pipegraph.client.commands.base import app, app_option, command, connect, json_option
from pipegraph.client.output import app_label, emit_json, first_line, header, table, when

NEXT_STAGE = {"DEVELOPMENT": "STAGING", "STAGING": "PRODUCTION"}
BASIS = "release history: commits of the slugs released to each app (the last 100 releases of each)"


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
    found = app(connect(), "pipeline_diff", app_name)
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
        history = _released_commits(target["releases"]["edges"])
        status, commits = _compare(source, history)
        rows.append(
            {
                "app": target["name"],
                "commit": history[0]["sha"] if history else None,
                "status": status,
                "commits": commits,
            }
        )
    return {
        "app": name,
        "pipeline": found["pipeline"]["name"],
        "commit": source[0]["sha"],
        "basis": BASIS,
        "downstream": rows,
    }


def _print(result: dict[str, Any]) -> None:
    source = app_label(result["app"])
    for row in result["downstream"]:
        other = app_label(row["app"])
        count = len(row["commits"])
        plural = "commit" if count == 1 else "commits"
        if row["status"] in {"ahead", "behind"}:
            header(f"{source} is {row['status']} of {other} by {count} {plural}")
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
