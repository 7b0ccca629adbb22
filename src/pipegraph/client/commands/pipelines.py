"""pipelines, pipelines:create/info/add/remove/update/rename/destroy/transfer/open, as Heroku's CLI has them."""

from __future__ import annotations

import sys
from typing import Any

import click

from pipegraph.client.api import Api, ApiError
from pipegraph.client.commands.base import app_option, command, connect, json_option, nodes, pipeline_key, pipeline_of
from pipegraph.client.output import action, app_label, emit_json, header, on_terminal, owner_label, table

# `heroku pipelines:info` lists apps in this order of stages, then by name.
STAGE_ORDER = ["DEVELOPMENT", "REVIEW", "TEST", "STAGING", "PRODUCTION"]
STAGE_CHOICE = click.Choice(["review", "development", "staging", "production"], case_sensitive=False)


def _pipeline(api: Api, name: str) -> dict[str, Any]:
    """A pipeline by name, or by global ID (anything no name can be), as Heroku takes a name or a UUID."""
    return pipeline_of(api, "pipeline_info", pipeline_key(name))


def _apps_by_stage(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    apps = [
        {"name": app["name"], "stage": stage["name"].lower(), "owner": owner_label(app["owner"])}
        for stage in sorted(pipeline["stages"], key=lambda stage: STAGE_ORDER.index(stage["name"]))
        for app in stage["apps"]
    ]
    return apps


@command("pipelines", "List the pipelines you can see.", "pipegraph pipelines", "pipegraph pipelines --json")
@json_option
def pipelines_list(as_json: bool) -> None:
    found = list(nodes(connect(), "pipelines", "pipelines"))
    if as_json:
        emit_json([{"id": p["id"], "name": p["name"], "owner": owner_label(p["owner"])} for p in found])
        return
    header("My Pipelines")
    for pipeline in found:
        click.echo(pipeline["name"])


@command(
    "pipelines:create",
    "Create a pipeline around an app.",
    "pipegraph pipelines:create shop -a shop-staging",
    "pipegraph pipelines:create shop -a shop-dev -s development -t acme",
    details="Without --stage the stage is guessed from the app name's suffix (-staging → staging), as Heroku does; "
    "with --team the team owns the pipeline.",
)
@click.argument("name")
@app_option
@click.option("-s", "--stage", type=STAGE_CHOICE, help="The app's stage (default: guessed from its name).")
@click.option("-t", "--team", help="The team that owns the pipeline (default: you).")
def pipelines_create(name: str, app_name: str, stage: str | None, team: str | None) -> None:
    api = connect()
    with action(f"Creating {name} pipeline"):
        payload = api.mutate("create_pipeline", name=name, app=app_name, stage=stage, team=team)
    placed = next(
        s["name"].lower() for s in payload["pipeline"]["stages"] if any(a["name"] == app_name for a in s["apps"])
    )
    click.echo(f"Adding {app_label(app_name)} to {name} pipeline as {placed}... done", err=True)


@command(
    "pipelines:info",
    "Show a pipeline's owner and its apps by stage.",
    "pipegraph pipelines:info shop",
    "pipegraph pipelines:info shop --json",
)
@click.argument("name")
@json_option
def pipelines_info(name: str, as_json: bool) -> None:
    pipeline = _pipeline(connect(), name)
    apps = _apps_by_stage(pipeline)
    owner = owner_label(pipeline["owner"])
    if as_json:
        emit_json({"pipeline": {"id": pipeline["id"], "name": pipeline["name"], "owner": owner}, "apps": apps})
        return
    header(pipeline["name"])
    click.echo(f"owner: {owner}\n")
    table(["app name", "stage"], [[app_label(app["name"]), app["stage"]] for app in apps])
    if pipeline["foreignApps"]:
        click.echo(
            f"\nSome apps in this pipeline do not belong to {owner}.\n\nAll apps in a pipeline must have the same "
            "owner as the pipeline owner.\nTransfer these apps (transferAppsToPipelineOwner) or change the pipeline "
            "owner (pipegraph pipelines:transfer).",
            err=True,
        )


@command(
    "pipelines:add",
    "Add an app to a pipeline.",
    "pipegraph pipelines:add shop -a shop-prod -s production",
    details="Without --stage you are asked for it (the guess from the app name's suffix is the default).",
)
@click.argument("pipeline")
@app_option
@click.option("-s", "--stage", type=STAGE_CHOICE, help="The app's stage.")
def pipelines_add(pipeline: str, app_name: str, stage: str | None) -> None:
    if stage is None:
        # The server's own guess, so the default offered is the one createPipeline would make.
        from pipegraph.pipelines.service import infer_stage

        try:
            stage = click.prompt(f"Stage of {app_name}", type=STAGE_CHOICE, default=infer_stage(app_name).value)
        except click.Abort:
            if sys.stdin.isatty():
                raise  # Ctrl-C or Ctrl-D at the prompt: the person chose to stop
            # No terminal and nothing piped in: say what is missing rather than a bare "Aborted!".
            raise click.ClickException(
                f"no stage given for {app_name}: pass -s/--stage ({', '.join(STAGE_CHOICE.choices)}); "
                "it is asked for only in a terminal or on standard input"
            ) from None
    api = connect()
    with action(f"Adding {app_label(app_name)} to {pipeline} pipeline as {stage}"):
        api.mutate("add_app_to_pipeline", pipeline=pipeline, app=app_name, stage=stage)


@command(
    "pipelines:remove", "Take an app out of its pipeline (the app stays).", "pipegraph pipelines:remove -a shop-qa"
)
@app_option
def pipelines_remove(app_name: str) -> None:
    api = connect()
    with action(f"Removing {app_label(app_name)}"):
        api.mutate("remove_app_from_pipeline", app=app_name)


@command(
    "pipelines:update",
    "Move an app to another stage of its pipeline.",
    "pipegraph pipelines:update -a shop-qa -s staging",
)
@app_option
@click.option("-s", "--stage", type=STAGE_CHOICE, required=True, help="The new stage.")
def pipelines_update(app_name: str, stage: str) -> None:
    api = connect()
    with action(f"Changing {app_label(app_name)} to {stage}"):
        api.mutate("move_app_to_stage", app=app_name, stage=stage)


@command("pipelines:rename", "Rename a pipeline.", "pipegraph pipelines:rename shop storefront")
@click.argument("pipeline")
@click.argument("name")
def pipelines_rename(pipeline: str, name: str) -> None:
    api = connect()
    with action(f"Renaming {pipeline} pipeline to {name}"):
        api.mutate("rename_pipeline", pipeline=pipeline, name=name)


def _confirm(name: str, confirm: str | None, warning: str) -> None:
    if confirm is None:
        click.echo(
            f" !    {warning}\n !    To proceed, type {name} or re-run this command with --confirm {name}", err=True
        )
        confirm = click.prompt("", prompt_suffix="> ", default="", show_default=False)
    if confirm != name:
        raise ApiError(f"Confirmation did not match {name}. Aborted.")


@command(
    "pipelines:destroy",
    "Destroy a pipeline; its apps stay, outside any pipeline.",
    "pipegraph pipelines:destroy shop",
    "pipegraph pipelines:destroy shop --confirm shop",
)
@click.argument("pipeline")
@click.option("-c", "--confirm", metavar="NAME", help="The pipeline's name, to skip the question.")
def pipelines_destroy(pipeline: str, confirm: str | None) -> None:
    api = connect()
    _confirm(pipeline, confirm, f"This will destroy the {pipeline} pipeline (its apps stay).")
    with action(f"Destroying {pipeline} pipeline"):
        api.mutate("destroy_pipeline", pipeline=pipeline)


@command(
    "pipelines:transfer",
    "Give a pipeline, with the apps its owner held, to a team or a person.",
    "pipegraph pipelines:transfer acme -p shop",
    "pipegraph pipelines:transfer bob@example.com -p shop --confirm shop",
    details="OWNER is one of your teams by name, else a person by email. Heroku's rules apply: a person's pipeline "
    "goes to a team they are in, a team's pipeline to one of its members.",
)
@click.argument("owner")
@click.option("-p", "--pipeline", required=True, help="The pipeline to transfer.")
@click.option("-c", "--confirm", metavar="NAME", help="The pipeline's name, to skip the question.")
def pipelines_transfer(owner: str, pipeline: str, confirm: str | None) -> None:
    api = connect()
    found = _pipeline(api, pipeline)
    teams = {team["name"] for team in api.query("viewer_teams")["viewer"]["teams"]}
    new_owner = {"team": owner} if owner in teams or "@" not in owner else {"user": owner}
    kind = "team" if "team" in new_owner else "account"
    if confirm is None:
        table(["app name", "stage"], [[app_label(a["name"]), a["stage"]] for a in _apps_by_stage(found)])
    _confirm(
        found["name"], confirm, f"This will transfer {found['name']} and all of the listed apps to the {owner} {kind}"
    )
    with action(f"Transferring {found['name']} pipeline to the {owner} {kind}"):
        api.mutate("transfer_pipeline", pipeline=found["id"], newOwner=new_owner)


@command(
    "pipelines:open", "Print (and on a terminal, open) a pipeline's dashboard URL.", "pipegraph pipelines:open shop"
)
@click.argument("pipeline")
def pipelines_open(pipeline: str) -> None:
    api = connect()
    # By name: the dashboard's address is /pipelines/NAME (an ID there names no pipeline). Names need no quoting.
    url = f"{api.base_url}/pipelines/{_pipeline(api, pipeline)['name']}"
    click.echo(f"Opening {url}...", err=True)
    click.echo(url)
    if on_terminal():
        click.launch(url)


COMMANDS = [
    pipelines_list,
    pipelines_create,
    pipelines_info,
    pipelines_add,
    pipelines_remove,
    pipelines_update,
    pipelines_rename,
    pipelines_destroy,
    pipelines_transfer,
    pipelines_open,
]
