"""releases, releases:info, releases:output, releases:rollback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import click

from pipegraph.client.api import Api, ApiError
from pipegraph.client.commands.base import app_option, command, connect, json_option, not_found, version_number
from pipegraph.client.output import action, app_label, emit_json, header, table, when
from pipegraph.client.output import fields as show_fields
from pipegraph.client.progress import release_log

PAGE = 100
# Heroku's words after a release's description for the states that are not plain success.
STATUS_TEXT = {"PENDING": "release command executing", "FAILED": "release command failed"}


def history(api: Api, app_name: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The app's releases, newest first, page after page (at most `limit`)."""
    after: str | None = None
    seen = 0
    while True:
        found = api.query("releases", app=app_name, first=min(PAGE, limit - seen) if limit else PAGE, after=after)
        if found["app"] is None:
            raise not_found("app", app_name)
        connection = found["app"]["releases"]
        for edge in connection["edges"]:
            yield edge["node"]
            seen += 1
            if limit and seen >= limit:
                return
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def release(api: Api, app_name: str, version: str | None) -> dict[str, Any]:
    """Release vN of the app, or its newest one."""
    wanted = version_number(version) if version else None
    for node in history(api, app_name):
        if wanted is None or node["version"] == wanted:
            return node
        if node["version"] < wanted:
            break
    raise ApiError(
        f"release {version} of {app_name} not found" if version else f"{app_name} has no releases", "NOT_FOUND"
    )


def _status_text(node: dict[str, Any]) -> str:
    return STATUS_TEXT.get(node["status"], "")


@command(
    "releases",
    "List an app's releases, newest first.",
    "pipegraph releases -a shop-staging",
    "pipegraph releases -a shop-staging -n 50 --json",
)
@app_option
@click.option("-n", "--num", default=15, show_default=True, type=click.IntRange(1), help="How many releases.")
@json_option
def releases_list(app_name: str, num: int, as_json: bool) -> None:
    found = list(history(connect(), app_name, limit=num))
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(f"{app_label(app_name)} has no releases.")
        return
    current = next((f"v{node['version']}" for node in found if node["current"]), "none")
    header(f"{app_label(app_name)} Releases - Current: {current}")
    rows = [
        [
            f"v{node['version']}",
            " ".join(part for part in (node["description"], _status_text(node)) if part),
            node["createdBy"]["email"] if node["createdBy"] else "-",
            when(node["createdAt"]),
        ]
        for node in found
    ]
    table(["version", "description", "by", "created"], rows)


@command(
    "releases:info",
    "Show one release (the newest by default).",
    "pipegraph releases:info v12 -a shop-staging",
    "pipegraph releases:info -a shop-staging --json",
)
@click.argument("version", metavar="[RELEASE]", required=False)
@app_option
@json_option
def releases_info(version: str | None, app_name: str, as_json: bool) -> None:
    node = release(connect(), app_name, version)
    if as_json:
        emit_json(node)
        return
    slug = node["slug"]
    source = node["sourceRelease"]
    header(f"Release v{node['version']}")
    fields = [
        ("By", node["createdBy"]["email"] if node["createdBy"] else "-"),
        ("Change", node["description"]),
        ("Current", "yes" if node["current"] else "no"),
        ("Status", node["status"].lower() + (f": {node['errorMessage']}" if node["errorMessage"] else "")),
        ("Commit", f"{slug['commit'] or '-'} {slug['commitDescription'] or ''}".rstrip()),
        ("Slug", f"{slug['checksum']} ({slug['stack']})"),
        ("From", f"{source['app']['name']} v{source['version']}" if source else "-"),
        ("When", when(node["createdAt"])),
    ]
    show_fields(fields)


def _previous_succeeded(api: Api, app_name: str) -> int:
    """The newest succeeded release older than the current one, as Heroku's `rollback` picks by default."""
    past_current = False
    for node in history(api, app_name):
        if past_current and node["status"] == "SUCCEEDED":
            version: int = node["version"]
            return version
        past_current = past_current or node["current"]
    raise ApiError(f"No eligible release found for {app_label(app_name)} to roll back to.", "NOT_FOUND")


async def _stream_log(api: Api, release_id: str) -> None:
    async for text in release_log(api, release_id):
        click.echo(text)


@command(
    "releases:output",
    "Print a release phase's output; a running one is streamed until it ends.",
    "pipegraph releases:output v12 -a shop-staging",
)
@click.argument("version", metavar="[RELEASE]", required=False)
@app_option
def releases_output(version: str | None, app_name: str) -> None:
    api = connect()
    node = release(api, app_name, version)
    if node["status"] == "PENDING":
        asyncio.run(_stream_log(api, node["id"]))
        return
    log = api.query("release_output", id=node["id"])["node"]["log"]
    if log:
        click.echo(log)
    else:
        click.echo(f"v{node['version']} has no release phase output.", err=True)


@command(
    "releases:rollback",
    "Release an earlier release's slug again (the release before the current one by default).",
    "pipegraph releases:rollback -a shop-prod",
    "pipegraph releases:rollback v10 -a shop-prod",
)
@click.argument("version", metavar="[RELEASE]", required=False)
@app_option
def releases_rollback(version: str | None, app_name: str) -> None:
    api = connect()
    target = version_number(version) if version else _previous_succeeded(api, app_name)
    with action(f"Rolling back {app_label(app_name)} to v{target}"):
        made = api.mutate("rollback", app=app_name, version=target)["release"]
    click.echo(f"{app_label(app_name)} is at v{made['version']} ({made['description']})")
    click.echo(
        # Not Heroku's "affects code and config vars": a pipegraph release keeps its slug, not the config vars.
        f"Rollback releases v{target}'s code again; the app's config vars stay as they are now.\n"
        f"To undo, run: pipegraph releases:rollback v{made['version'] - 1} -a {app_name}",
        err=True,
    )
    if made["status"] == "PENDING":
        click.echo("Running release command...", err=True)
        asyncio.run(_stream_log(api, made["id"]))


COMMANDS = [releases_list, releases_info, releases_output, releases_rollback]
