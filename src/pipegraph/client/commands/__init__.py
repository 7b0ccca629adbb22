"""The client commands, registered on the one `pipegraph` command beside the server's."""

from __future__ import annotations

import click

from pipegraph.client.commands import apps, auth, ci, diff, pipelines, promote, releases, reviewapps, teams

COMMANDS: list[click.Command] = [
    *auth.COMMANDS,
    *pipelines.COMMANDS,
    *promote.COMMANDS,
    *diff.COMMANDS,
    *apps.COMMANDS,
    *releases.COMMANDS,
    *teams.COMMANDS,
    *ci.COMMANDS,
    *reviewapps.COMMANDS,
]


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
