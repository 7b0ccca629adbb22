"""pipelines:promote and pipelines:promotion: start a promotion or look at one, following it live."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from pipegraph.client.api import Api
from pipegraph.client.commands.base import app_option, comma_list, command, connect, json_option, not_found
from pipegraph.client.output import emit_json, header, on_terminal, table, when
from pipegraph.client.progress import Follower, display, follow_command_hint, report

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C


def _follow(api: Api, promotion_id: str, *, verbose: bool) -> None:
    """Follow to the end and exit 1 if a target failed; on Ctrl-C leave it running and say how to come back."""
    follower = Follower(api, display(on_terminal()), verbose=verbose)
    try:
        outcome = asyncio.run(follower.follow(promotion_id))
    except KeyboardInterrupt:
        click.echo(
            f"\nStopped following; the promotion goes on without you. Follow it again with:\n"
            f"  {follow_command_hint(promotion_id)}",
            err=True,
        )
        sys.exit(INTERRUPTED_EXIT_CODE)
    if not report(outcome):
        sys.exit(1)


@command(
    "pipelines:promote",
    "Promote an app's release to the next stage, or to the apps you name, and follow it to the end.",
    "pipegraph pipelines:promote -a shop-staging",
    "pipegraph pipelines:promote -a shop-staging --to shop-prod-eu,shop-prod-us --release v12 --verbose",
    details="Exits 1 if any target failed. Ctrl-C stops following but not the promotion: "
    "`pipegraph pipelines:promotion ID --follow` picks it up again.",
)
@app_option
@click.option("-t", "--to", "to", metavar="APP,APP", help="Target apps of the same pipeline (default: the next stage).")
@click.option("--release", metavar="vN", help="A release of the source to promote (default: its current one).")
@click.option("-v", "--verbose", is_flag=True, help="Also stream each target's release phase output.")
def promote(app_name: str, to: str | None, release: str | None, verbose: bool) -> None:
    api = connect()
    targets = comma_list(to)
    promotion = api.mutate("promote", source=app_name, to=targets or None, release=release)["promotion"]
    if targets:
        click.echo(f"Starting promotion to apps: {','.join(targets)}...")
    else:
        stages = dict.fromkeys(str(t["app"]["stage"] or "").lower() for t in promotion["targets"])
        click.echo(f"Starting promotion to {','.join(stages)}...")
    click.echo(f"promotion {promotion['id']}: {follow_command_hint(promotion['id'])}", err=True)
    _follow(api, promotion["id"], verbose=verbose)


def _promotion(api: Api, promotion_id: str) -> dict[str, Any]:
    node: dict[str, Any] | None = api.query("promotion", id=promotion_id)["node"]
    if not node or "targets" not in node:
        raise not_found("promotion", promotion_id)
    return node


@command(
    "pipelines:promotion",
    "Show a promotion's targets, or follow it live to the end with --follow.",
    "pipegraph pipelines:promotion UHJvbW90aW9uOjE= --follow",
    "pipegraph pipelines:promotion UHJvbW90aW9uOjE= --json",
)
@click.argument("promotion_id", metavar="ID")
@click.option(
    "-f", "--follow", is_flag=True, help="Follow its progress until it completes (exit 1 if a target failed)."
)
@click.option("-v", "--verbose", is_flag=True, help="With --follow, also stream the release phase output.")
@json_option
def promotion(promotion_id: str, follow: bool, verbose: bool, as_json: bool) -> None:
    api = connect()
    found = _promotion(api, promotion_id)
    if follow:
        _follow(api, found["id"], verbose=verbose)
        return
    if as_json:
        emit_json(found)
        return
    source = found["source"]["name"] if found["source"] else "?"
    version = f" v{found['sourceRelease']['version']}" if found["sourceRelease"] else ""
    header(f"Promotion of {source}{version} in {found['pipeline']['name']}: {found['status'].lower()}")
    click.echo(f"started {when(found['createdAt'])}, completed {when(found['completedAt'])}\n")
    rows = [
        [
            t["app"]["name"],
            t["status"].lower(),
            t["step"].lower().replace("_", " "),
            f"v{t['release']['version']}" if t["release"] else "-",
            t["errorMessage"] or "",
        ]
        for t in found["targets"]
    ]
    table(["app", "status", "step", "release", "error"], rows)


COMMANDS = [promote, promotion]
