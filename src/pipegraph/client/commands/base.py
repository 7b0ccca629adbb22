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


_VERSION = re.compile(r"v?([0-9]{1,9})")


def version_number(text: str) -> int:
    """`12` or `v12` → 12; anything else is a usage error naming what was given."""
    match = _VERSION.fullmatch(text.strip().lower())
    if not match:
        raise click.BadParameter(f"{text!r} is not a release version such as v12", param_hint="RELEASE")
    return int(match.group(1))


def comma_list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]
