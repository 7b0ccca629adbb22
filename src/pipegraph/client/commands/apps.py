"""apps, apps:create, apps:info, config, config:set, config:unset, git:remote."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import click

from pipegraph.client import config
from pipegraph.client.api import ApiError
from pipegraph.client.commands.base import app, app_option, command, connect, json_option, nodes
from pipegraph.client.output import action, app_label, emit_json, header, owner_label, table, when
from pipegraph.client.output import fields as show_fields


def _app_row(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node["id"],
        "name": node["name"],
        "stack": node["stack"],
        "owner": owner_label(node["owner"]),
        "pipeline": node["pipeline"]["name"] if node["pipeline"] else None,
        "stage": node["stage"].lower() if node["stage"] else None,
    }


@command("apps", "List the apps you can see.", "pipegraph apps", "pipegraph apps --json")
@json_option
def apps_list(as_json: bool) -> None:
    rows = [_app_row(node) for node in nodes(connect(), "apps", "apps")]
    if as_json:
        emit_json(rows)
        return
    header("Apps")
    table(
        ["name", "owner", "pipeline", "stage"],
        [[app_label(r["name"]), r["owner"], r["pipeline"] or "-", r["stage"] or "-"] for r in rows],
    )


@command(
    "apps:create",
    "Create an app (yours, or a team's with --team).",
    "pipegraph apps:create shop-staging",
    "pipegraph apps:create shop-prod -t acme --stack heroku-24",
)
@click.argument("name")
@click.option("-t", "--team", help="The team that owns the app.")
@click.option("-s", "--stack", help="The stack (default: the server's).")
def apps_create(name: str, team: str | None, stack: str | None) -> None:
    api = connect()
    with action(f"Creating {app_label(name)}"):
        created = api.mutate("create_app", name=name, team=team, stack=stack)["app"]
    click.echo(f"{app_label(created['name'])} ({created['stack']})")


def _info_row(found: dict[str, Any]) -> dict[str, Any]:
    """The `apps --json` row and what apps:info shows besides, by name, flat as the other listings are."""
    current = found["currentRelease"]
    return {
        **_app_row(found),
        "ephemeral": found["ephemeral"],
        "createdAt": found["createdAt"],
        "release": current["version"] if current else None,
        "releaseStatus": current["status"].lower() if current else None,
        "commit": current["slug"]["commit"] if current else None,
        "collaborators": [
            {"email": c["user"]["email"], "permissions": [p.lower() for p in c["permissions"]]}
            for c in found["collaborators"]
        ],
    }


@command(
    "apps:info",
    "Show an app: owner, stack, pipeline and stage, current release, collaborators.",
    "pipegraph apps:info -a shop-staging",
    "pipegraph apps:info -a shop-staging --json",
    details="--json prints one object: the fields of `apps --json` (id, name, stack, owner, pipeline, stage), then "
    "ephemeral, createdAt, release (the current version, or null), releaseStatus, commit (its slug's), and "
    "collaborators ({email, permissions}).",
)
@app_option
@json_option
def apps_info(app_name: str, as_json: bool) -> None:
    found = app(connect(), "app_info", app_name)
    if as_json:
        emit_json(_info_row(found))
        return
    current = found["currentRelease"]
    header(app_label(found["name"]))
    fields = [
        ("Owner", owner_label(found["owner"])),
        ("Stack", found["stack"]),
        ("Pipeline", f"{found['pipeline']['name']} ({found['stage'].lower()})" if found["pipeline"] else "-"),
        ("Release", f"v{current['version']} {current['status'].lower()}" if current else "none"),
        ("Collaborators", ", ".join(c["user"]["email"] for c in found["collaborators"]) or "-"),
        ("Created", when(found["createdAt"])),
    ]
    show_fields(fields)


@command(
    "config",
    "Show an app's config vars.",
    "pipegraph config -a shop-staging",
    "pipegraph config -a shop-staging --json",
)
@app_option
@json_option
def config_show(app_name: str, as_json: bool) -> None:
    found = app(connect(), "config_vars", app_name)
    variables: dict[str, str] = found["configVars"]
    if as_json:
        emit_json(variables)
        return
    header(f"{app_label(found['name'])} Config Vars")
    show_fields(sorted(variables.items()))


def _pairs(assignments: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for assignment in assignments:
        key, sign, value = assignment.partition("=")
        if not sign or not key:
            raise click.BadParameter(f"{assignment!r} is not KEY=value", param_hint="KEY=VALUE")
        pairs[key] = value
    return pairs


@command(
    "config:set",
    "Set config vars (all or none); a new value applies to the next release.",
    "pipegraph config:set LOG_LEVEL=debug RAILS_ENV=staging -a shop-staging",
)
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@app_option
def config_set(assignments: tuple[str, ...], app_name: str) -> None:
    pairs = _pairs(assignments)
    api = connect()
    with action(f"Setting {', '.join(pairs)} on {app_label(app_name)}"):
        api.mutate("set_config_vars", app=app_name, vars=pairs)
    for key, value in pairs.items():
        click.echo(f"{key}: {value}")


@command("config:unset", "Unset config vars.", "pipegraph config:unset LOG_LEVEL -a shop-staging")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@app_option
def config_unset(keys: tuple[str, ...], app_name: str) -> None:
    api = connect()
    with action(f"Unsetting {', '.join(keys)} on {app_label(app_name)}"):
        api.mutate("set_config_vars", app=app_name, vars=dict.fromkeys(keys))


@command(
    "git:remote",
    "Add (or repoint) a git remote pushing to the app's builds.",
    "pipegraph git:remote -a shop-staging",
    "pipegraph git:remote -a shop-staging -r staging",
    details="Run it inside your git repository; the remote is <API URL>/git/<app>.git, served by the API. The "
    "repository's git is also told to ask `pipegraph git:credentials` for the API's credentials, so `git push` "
    "authenticates with your login's token (Heroku's CLI does it through ~/.netrc).",
)
@app_option
@click.option("-r", "--remote", default="pipegraph", show_default=True, help="The git remote's name.")
def git_remote(app_name: str, remote: str) -> None:
    api = connect()
    name = app(api, "config_vars", app_name)["name"]
    url = f"{api.base_url}/git/{name}.git"
    exists = _git("remote", "get-url", remote, check=False).returncode == 0
    _git("remote", "set-url" if exists else "add", remote, url)
    # Without it git has no token: `pipegraph login` keeps its own in a file git does not read. The path of this very
    # program, so the helper works from a virtualenv that is not on PATH; "!" makes git run it through the shell.
    helper = f"!{shlex.quote(os.path.abspath(sys.argv[0]))} git:credentials"
    _git("config", "--replace-all", f"credential.{api.base_url}/git/.helper", helper)
    click.echo(f"set git remote {remote} to {url}")


@command(
    "git:credentials",
    "A git credential helper: answers git's `get` with the API token, for the API's host only.",
    "pipegraph git:credentials get",
    details="git:remote sets it up; git runs it, with the request on stdin (git-credential(1)). Other operations "
    "(store, erase) and other hosts get no answer, so git falls back to its other helpers.",
)
@click.argument("operation")
def git_credentials(operation: str) -> None:
    if operation != "get":
        return
    asked = dict(line.split("=", 1) for line in sys.stdin.read().splitlines() if "=" in line)
    try:
        credentials = config.load()
    except click.ClickException:
        return  # not logged in: say nothing, git asks its other helpers or the terminal
    api = urlsplit(credentials.api_url)
    if (asked.get("protocol"), asked.get("host")) == (api.scheme, api.netloc):
        click.echo(f"username=git\npassword={credentials.token}")


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ApiError("git is not installed (or not on PATH)") from None
    if check and result.returncode != 0:
        raise ApiError(f"`git {shlex.join(args)}` failed: {result.stderr.strip()}")
    return result


COMMANDS = [apps_list, apps_create, apps_info, config_show, config_set, config_unset, git_remote, git_credentials]
