"""How commands print: Heroku's `=== header`, `Doing X... done` on stderr, tables (rich on a terminal), JSON."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

HEXAGON = "⬢"


def on_terminal() -> bool:
    return sys.stdout.isatty()


def app_label(name: str) -> str:
    return f"{HEXAGON} {name}"


def header(text: str) -> None:
    click.echo(f"=== {text}")


def emit_json(value: Any) -> None:
    """Machine-readable output: indented, keys in the documented order, one document per command."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@contextlib.contextmanager
def action(message: str) -> Iterator[None]:
    """`message... done` on stderr, as Heroku's spinners end; `!` when it fails."""
    click.echo(f"{message}... ", err=True, nl=False)
    try:
        yield
    except BaseException:
        click.echo("!", err=True)
        raise
    click.echo("done", err=True)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table on a terminal; aligned plain columns when piped, so `grep` and `awk` work on it."""
    if on_terminal():
        grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for column in columns:
            grid.add_column(column, overflow="fold")
        for row in rows:
            grid.add_row(*row)
        Console().print(grid)
        return
    lines = [list(columns), *[list(row) for row in rows]]
    widths = [max(len(line[index]) for line in lines) for index in range(len(columns))]
    for line in lines:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def fields(pairs: Sequence[tuple[str, str]]) -> None:
    """`Label: value` lines, values aligned, as Heroku's styled objects print."""
    width = max((len(label) for label, _ in pairs), default=0) + 1
    for label, value in pairs:
        click.echo(f"{label + ':':<{width}} {value}")


def owner_label(owner: dict[str, Any] | None) -> str:
    """`email` for a person, `name (team)` for a team, as `heroku pipelines:info` prints owners."""
    if not owner:
        return "-"
    if owner.get("__typename") == "Team":
        return f"{owner['name']} (team)"
    return str(owner.get("email", "-"))


def when(moment: str | None) -> str:
    """An API timestamp as `YYYY-MM-DD HH:MM:SSZ`, in UTC."""
    if not moment:
        return "-"
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
