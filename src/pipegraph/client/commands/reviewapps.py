"""pipelines:connect, reviewapps, reviewapps:enable/disable/create/delete: a pipeline's GitHub repository and the
review apps of its pull requests, as Heroku's CLI has them."""

from __future__ import annotations

from typing import Any

import click

from pipegraph.client.api import Api
from pipegraph.client.commands.base import (
    command,
    connect,
    json_option,
    pipeline_of,
    pipeline_options,
    which_pipeline,
)
from pipegraph.client.output import action, app_label, emit_json, header, table, when

# The review-app config's switches: (flag, API field, what Heroku's CLI prints about it).
SWITCHES = [
    ("autodeploy", "automatic", "auto deployment"),
    ("autodestroy", "destroyStaleApps", "auto destroy"),
    ("wait_for_ci", "waitForCi", "wait for CI"),
]
CONFIG_FIELDS = ("automatic", "destroyStaleApps", "staleDays", "waitForCi", "baseName")


def _review_apps(api: Api, key: dict[str, str], *, deleted: bool = False) -> dict[str, Any]:
    return pipeline_of(api, "review_apps", key, deleted=deleted)


@command(
    "pipelines:connect",
    "Connect a pipeline to a GitHub repository (review apps, automatic deploys and CI of pushes need it).",
    "pipegraph pipelines:connect shop --repo acme/shop",
    details="Prints the webhook to add to the repository on GitHub (Settings → Webhooks): its URL and its secret, "
    "shown this once. Connecting again makes a new secret.",
)
@click.argument("pipeline")
@click.option("-r", "--repo", required=True, metavar="OWNER/REPO", help="The GitHub repository.")
@json_option
def pipelines_connect(pipeline: str, repo: str, as_json: bool) -> None:
    api = connect()
    with action("Linking to repo"):
        payload = api.mutate("connect_repository", pipeline=pipeline, repository=repo)
    if as_json:
        emit_json(
            {
                "pipeline": payload["pipeline"],
                "repository": payload["repository"],
                "webhookUrl": payload["webhookUrl"],
                "webhookSecret": payload["webhookSecret"],
            }
        )
        return
    click.echo(f"{payload['pipeline']['name']} is connected to {payload['repository']['fullName']}.")
    click.echo("Add this webhook to the repository on GitHub (Settings → Webhooks → Add webhook):")
    click.echo(f"  Payload URL:  {payload['webhookUrl']}")
    click.echo("  Content type: application/json")
    click.echo(f"  Secret:       {payload['webhookSecret']}")
    click.echo("The secret is shown this once: connect again for a new one.", err=True)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


@command(
    "reviewapps",
    "List a pipeline's review apps, by pull request.",
    "pipegraph reviewapps -p shop",
    "pipegraph reviewapps -a shop-staging --all --json",
)
@pipeline_options
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted review apps.")
@json_option
def reviewapps_list(pipeline: str | None, app_name: str | None, include_deleted: bool, as_json: bool) -> None:
    api = connect()
    found = _review_apps(api, which_pipeline(api, pipeline, app_name), deleted=include_deleted)
    apps = found["reviewApps"]
    if as_json:
        emit_json(apps)
        return
    config = found["reviewAppConfig"]
    repository = found["repository"]
    header(f"{found['name']} review apps" + (f" ({repository['fullName']})" if repository else ""))
    if config is None:
        click.echo(f"Review apps are not enabled: pipegraph reviewapps:enable -p {found['name']}", err=True)
    else:
        stale = f" after {config['staleDays']} days" if config["destroyStaleApps"] else ""
        click.echo(
            f"auto deployment: {_on_off(config['automatic'])} · auto destroy: "
            f"{_on_off(config['destroyStaleApps'])}{stale} · wait for CI: {_on_off(config['waitForCi'])} · "
            f"names: {config['baseName']}-pr-N\n"
        )
    if not apps:
        click.echo(f"{found['name']} has no review apps.")
        return
    rows = [
        [
            f"#{review['prNumber']}",
            review["branch"] or "-",
            app_label(review["appName"]),
            review["status"].lower(),
            review["message"],
            when(review["updatedAt"]),
        ]
        for review in apps
    ]
    table(["pr", "branch", "app", "status", "message", "updated"], rows)


def _configure(api: Api, key: dict[str, str], changes: dict[str, Any], verb: str) -> None:
    """Set the switches in `changes`, keeping the others as they are (Heroku's PATCH of review-app-config)."""
    found = _review_apps(api, key)
    current = found["reviewAppConfig"] or {"automatic": False, "destroyStaleApps": False, "waitForCi": False}
    values = {field: current.get(field) for field in CONFIG_FIELDS if current.get(field) is not None} | changes
    for _, field, words in SWITCHES:
        if field in changes:
            click.echo(f"{verb} {words}...", err=True)
    with action("Configuring pipeline"):
        api.mutate("enable_review_apps", pipeline=found["name"], **values)


@command(
    "reviewapps:enable",
    "Enable review apps on a pipeline connected to GitHub, or turn some of their options on.",
    "pipegraph reviewapps:enable -p shop",
    "pipegraph reviewapps:enable -p shop --autodeploy --autodestroy --stale-days 3 --wait-for-ci",
    details="Each option given is turned on; those not given stay as they are. --autodeploy gives each pull request "
    "opened a review app by itself (never a fork's); --autodestroy destroys review apps with no deploy for "
    "--stale-days days; --wait-for-ci builds a pull request's commit only once CI succeeded on it.",
)
@pipeline_options
@click.option("--autodeploy", is_flag=True, help="Pull requests get a review app by themselves.")
@click.option("--autodestroy", is_flag=True, help="Destroy review apps with no deploy for --stale-days.")
@click.option("--wait-for-ci", is_flag=True, help="Build a pull request's commit only once CI succeeded on it.")
@click.option("--stale-days", type=click.IntRange(1, 30), help="Days without a deploy before one is stale.")
@click.option("--base-name", metavar="NAME", help="Review apps are named NAME-pr-N (default: the pipeline's name).")
def reviewapps_enable(
    pipeline: str | None,
    app_name: str | None,
    autodeploy: bool,
    autodestroy: bool,
    wait_for_ci: bool,
    stale_days: int | None,
    base_name: str | None,
) -> None:
    api = connect()
    given = {"autodeploy": autodeploy, "autodestroy": autodestroy, "wait_for_ci": wait_for_ci}
    changes: dict[str, Any] = {field: True for flag, field, _ in SWITCHES if given[flag]}
    if stale_days is not None:
        changes["staleDays"] = stale_days
    if base_name is not None:
        changes["baseName"] = base_name
    _configure(api, which_pipeline(api, pipeline, app_name), changes, "Enabling")


@command(
    "reviewapps:disable",
    "Turn a pipeline's review apps off, or only some of their options.",
    "pipegraph reviewapps:disable -p shop",
    "pipegraph reviewapps:disable -p shop --no-autodestroy",
    details="Without options, review apps are disabled (Heroku's DELETE of review-app-config): pull requests get no "
    "new review app, by themselves or by reviewapps:create, until reviewapps:enable; existing ones stay and each "
    "goes when its pull request closes. With options, only those are turned off and review apps stay enabled.",
)
@pipeline_options
@click.option("--no-autodeploy", is_flag=True, help="Pull requests no longer get a review app by themselves.")
@click.option("--no-autodestroy", is_flag=True, help="Stale review apps are no longer destroyed.")
@click.option("--no-wait-for-ci", is_flag=True, help="Builds no longer wait for CI.")
def reviewapps_disable(
    pipeline: str | None, app_name: str | None, no_autodeploy: bool, no_autodestroy: bool, no_wait_for_ci: bool
) -> None:
    api = connect()
    given = {"autodeploy": no_autodeploy, "autodestroy": no_autodestroy, "wait_for_ci": no_wait_for_ci}
    key = which_pipeline(api, pipeline, app_name)
    found = _review_apps(api, key)
    if found["reviewAppConfig"] is None:
        click.echo("Review apps are not enabled: nothing to disable.", err=True)
        return
    if any(given.values()):
        _configure(api, key, {field: False for flag, field, _ in SWITCHES if given[flag]}, "Disabling")
        return
    with action("Disabling review apps"):
        api.mutate("disable_review_apps", pipeline=found["name"])


def _on_pull_request(
    pipeline: str | None, app_name: str | None, operation: str, pr_number: int, doing: str
) -> tuple[str, dict[str, Any]]:
    """`operation` (createReviewApp, deleteReviewApp) on a pull request's review app; the pipeline's name and it."""
    api = connect()
    name = _review_apps(api, which_pipeline(api, pipeline, app_name))["name"]
    with action(f"{doing} pull request #{pr_number}"):
        review: dict[str, Any] = api.mutate(operation, pipeline=name, pullRequest=pr_number)["reviewApp"]
    return name, review


PR_OPTION = click.option("--pr", "pr_number", type=click.IntRange(1), required=True, help="The pull request's number.")


@command(
    "reviewapps:create",
    "Make a review app for a pull request now (forks' too); a worker builds it.",
    "pipegraph reviewapps:create -p shop --pr 42",
)
@pipeline_options
@PR_OPTION
def reviewapps_create(pipeline: str | None, app_name: str | None, pr_number: int) -> None:
    name, review = _on_pull_request(pipeline, app_name, "create_review_app", pr_number, "Creating a review app for")
    click.echo(f"{app_label(review['appName'])}: {review['status'].lower()}")
    click.echo(f"Run `pipegraph reviewapps -p {name}` to check progress.", err=True)


@command(
    "reviewapps:delete",
    "Destroy a pull request's review app now, as closing the pull request does.",
    "pipegraph reviewapps:delete -p shop --pr 42",
)
@pipeline_options
@PR_OPTION
def reviewapps_delete(pipeline: str | None, app_name: str | None, pr_number: int) -> None:
    _, review = _on_pull_request(pipeline, app_name, "delete_review_app", pr_number, "Deleting the review app of")
    click.echo(f"{app_label(review['appName'])}: {review['status'].lower()}")


COMMANDS = [
    pipelines_connect,
    reviewapps_list,
    reviewapps_enable,
    reviewapps_disable,
    reviewapps_create,
    reviewapps_delete,
]
