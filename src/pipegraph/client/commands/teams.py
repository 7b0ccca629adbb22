"""teams, teams:create, members:add, access:add."""

from __future__ import annotations

import click

from pipegraph.client.commands.base import app_option, comma_list, command, connect, json_option
from pipegraph.client.output import action, app_label, emit_json, table

ROLES = click.Choice(["admin", "member", "collaborator"], case_sensitive=False)
PERMISSIONS = ("view", "deploy", "operate", "manage")


@command("teams", "List your teams and your role in each.", "pipegraph teams", "pipegraph teams --json")
@json_option
def teams_list(as_json: bool) -> None:
    viewer = connect().query("viewer_teams")["viewer"]
    rows = [
        {
            "id": team["id"],
            "name": team["name"],
            "kind": team["kind"].lower(),
            "role": next((m["role"].lower() for m in team["members"] if m["user"]["email"] == viewer["email"]), None),
            "members": [{"email": m["user"]["email"], "role": m["role"].lower()} for m in team["members"]],
        }
        for team in viewer["teams"]
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("You are in no team: pipegraph teams:create NAME makes one.")
        return
    table(
        ["team", "kind", "role", "members"],
        [[r["name"], r["kind"], r["role"] or "-", str(len(r["members"]))] for r in rows],
    )


@command(
    "teams:create",
    "Create a team; you become its admin.",
    "pipegraph teams:create acme",
    "pipegraph teams:create acme --enterprise",
)
@click.argument("name")
@click.option("--enterprise", is_flag=True, help="An Enterprise Team (pipeline auto-join is available).")
def teams_create(name: str, enterprise: bool) -> None:
    api = connect()
    with action(f"Creating team {name}"):
        api.mutate("create_team", name=name, kind="ENTERPRISE_TEAM" if enterprise else "TEAM")


@command(
    "members:add",
    "Add a user to a team (team admins only).",
    "pipegraph members:add bob@example.com -t acme",
    "pipegraph members:add carol@example.com -t acme --role admin",
)
@click.argument("email")
@click.option("-t", "--team", required=True, help="The team.")
@click.option("-r", "--role", type=ROLES, default="member", show_default=True, help="The member's role.")
def members_add(email: str, team: str, role: str) -> None:
    api = connect()
    with action(f"Adding {email} to {team} as {role.lower()}"):
        api.mutate("add_team_member", team=team, user=email, role=role.upper())


def _permissions(text: str) -> list[str]:
    chosen = comma_list(text.lower())
    unknown = [p for p in chosen if p not in PERMISSIONS]
    if unknown or not chosen:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'nothing'} is not a permission: use {','.join(PERMISSIONS)}",
            param_hint="--permissions",
        )
    return chosen


@command(
    "access:add",
    "Give a user permissions on an app (you need manage on it); view is always included.",
    "pipegraph access:add bob@example.com -a shop-staging",
    "pipegraph access:add bob@example.com -a shop-prod --permissions deploy,operate",
)
@click.argument("email")
@app_option
@click.option(
    "-p", "--permissions", default="view", show_default=True, help="Comma-separated: view,deploy,operate,manage."
)
def access_add(email: str, app_name: str, permissions: str) -> None:
    chosen = _permissions(permissions)
    if "view" not in chosen:
        chosen.insert(0, "view")
    api = connect()
    with action(f"Adding {email} access to the app {app_label(app_name)} with {', '.join(chosen)} permissions"):
        api.mutate("add_app_collaborator", app=app_name, user=email, permissions=[p.upper() for p in chosen])


COMMANDS = [teams_list, teams_create, members_add, access_add]
