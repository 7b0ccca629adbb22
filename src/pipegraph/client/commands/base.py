"""What every client command shares: its help with an example, the usual options, and the API it talks to."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from pipegraph.client import config
from pipegraph.client.api import Api, ApiError

F = TypeVar("F", bound=Callable[..., Any])


def command(name: str, summary: str, *examples: str, details: str = "") -> Callable[[F], click.Command]:
    """A Heroku-style `topic:command` with its help and, below the options, examples to copy."""
    text = summary + (f"\n\n{details}" if details else "")
    epilog = "\b\nExamples:\n" + "\n".join(f"  $ {example}" for example in examples)
    return click.command(name, help=text, short_help=summary, epilog=epilog)


def app_option(func: F) -> F:
    return click.option("-a", "--app", "app_name", required=True, metavar="APP", help="The app (name or global ID).")(
        func
    )


def pipeline_options(func: F) -> F:
    """`-p PIPELINE` or `-a APP` (its app's pipeline), as Heroku's `ci` takes either."""
    func = click.option("-a", "--app", "app_name", metavar="APP", help="An app of the pipeline (name or global ID).")(
        func
    )
    return click.option("-p", "--pipeline", metavar="PIPELINE", help="The pipeline (name or global ID).")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(func)


def connect() -> Api:
    """The API from the environment or `pipegraph login`'s file; a clear error when there is none."""
    return Api(config.load())


def not_found(what: str, key: str) -> ApiError:
    return ApiError(f"{what} {key} not found", "NOT_FOUND")


def app(api: Api, operation: str, name: str) -> dict[str, Any]:
    """`app(name:)` through `operation`, which must select the app under `app`; an unseen app is not found."""
    found: dict[str, Any] | None = api.query(operation, name=name)["app"]
    if found is None:
        raise not_found("app", name)
    return found


def nodes(api: Api, operation: str, field: str, **variables: Any) -> Iterator[dict[str, Any]]:
    """Every node of a top-level connection, page after page."""
    after: str | None = None
    while True:
        connection = api.query(operation, after=after, **variables)[field]
        for edge in connection["edges"]:
            yield edge["node"]
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


# Heroku's rule for app and pipeline names; anything else given for a pipeline is taken as its global ID.
NAME = re.compile(r"[a-z][a-z0-9-]{2,29}")


def pipeline_key(reference: str) -> dict[str, str]:
    """`pipeline(name:)` or `pipeline(id:)`'s variables for a name or a global ID, as Heroku takes a name or a UUID."""
    return {"name": reference} if NAME.fullmatch(reference) else {"id": reference}


def which_pipeline(api: Api, pipeline: str | None, app_name: str | None) -> dict[str, str]:
    """The variables naming the pipeline given with -p, or the pipeline of the app given with -a."""
    if pipeline:
        return pipeline_key(pipeline)
    if not app_name:
        raise click.UsageError("name a pipeline with -p PIPELINE, or one of its apps with -a APP")
    found = app(api, "app_pipeline", app_name)
    if found["pipeline"] is None:
        raise ApiError(f"This app ({found['name']}) does not seem to be a part of any pipeline", "APP_NOT_IN_PIPELINE")
    return {"id": found["pipeline"]["id"]}


def pipeline_of(api: Api, operation: str, key: dict[str, str], **variables: Any) -> dict[str, Any]:
    """`pipeline(name: | id:)` through `operation`; a pipeline not seen is not found, under the name it was given."""
    found: dict[str, Any] | None = api.query(operation, **key, **variables)["pipeline"]
    if found is None:
        raise not_found("pipeline", next(iter(key.values())))
    return found


_VERSION = re.compile(r"v?([0-9]{1,9})")


def version_number(text: str) -> int:
    """`12` or `v12` → 12; anything else is a usage error naming what was given."""
    match = _VERSION.fullmatch(text.strip().lower())
    if not match:
        raise click.BadParameter(f"{text!r} is not a release version such as v12", param_hint="RELEASE")
    return int(match.group(1))


def comma_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]
