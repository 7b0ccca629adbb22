"""Following a promotion live: `promotionProgress` events, and with --verbose each target's `releaseLog`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from pipegraph.client.api import Api, ConnectionLost
from pipegraph.client.output import app_label

STEPS = ["QUEUED", "COPYING_SLUG", "UPDATING_STACK", "RELEASE_PHASE", "DONE"]
TERMINAL = {"SUCCEEDED", "FAILED"}


def describe(event: dict[str, Any]) -> str:
    """`queued`, `copying slug`, …, then `succeeded, v3` or `failed: why`."""
    if event["status"] == "SUCCEEDED":
        release = event.get("release")
        return "succeeded" + (f", v{release['version']}" if release else "")
    if event["status"] == "FAILED":
        return f"failed: {event.get('errorMessage') or 'no reason given'}"
    return str(event["step"]).lower().replace("_", " ")


class Display(Protocol):
    def update(self, app: str, event: dict[str, Any]) -> None: ...

    def log(self, app: str, line: str) -> None: ...

    def close(self) -> None: ...


class PlainDisplay:
    """One line per change of a target, for pipes, files and CI logs."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def update(self, app: str, event: dict[str, Any]) -> None:
        text = describe(event)
        if self._last.get(app) != text:
            self._last[app] = text
            click.echo(f"{app_label(app)}: {text}")

    def log(self, app: str, line: str) -> None:
        click.echo(f"{app} | {line}")

    def close(self) -> None:
        pass


class LiveDisplay:
    """A progress bar per target on a terminal; release-phase lines scroll above the bars."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[state]}"),
            console=Console(),
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def update(self, app: str, event: dict[str, Any]) -> None:
        if app not in self._tasks:
            self._tasks[app] = self._progress.add_task(app_label(app), total=len(STEPS) - 1, state="")
        done = STEPS.index(event["step"]) if event["step"] in STEPS else 0
        self._progress.update(self._tasks[app], completed=done, state=describe(event))

    def log(self, app: str, line: str) -> None:
        self._progress.console.print(f"[dim]{app} |[/dim] {line}", markup=True, highlight=False)

    def close(self) -> None:
        self._progress.stop()


def display(on_terminal: bool) -> Display:
    return LiveDisplay() if on_terminal else PlainDisplay()


@dataclass
class Follower:
    """Follows a promotion to its end; `outcome` holds each target's last event."""

    api: Api
    display: Display
    verbose: bool = False
    outcome: dict[str, dict[str, Any]] = field(default_factory=dict)
    _logs: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def follow(self, promotion_id: str) -> dict[str, dict[str, Any]]:
        try:
            async for data in self.api.resume("promotion_progress", on_retry=reconnecting, id=promotion_id):
                event = data["promotionProgress"]
                app = event["target"]["app"]["name"]
                self.outcome[app] = event
                self.display.update(app, event)
                release = event.get("release")
                if self.verbose and release and release["id"] not in self._logs:
                    self._logs[release["id"]] = asyncio.create_task(self._stream_log(app, release["id"]))
            # Each log ends by itself once its release phase does; wait so no line is cut off.
            await asyncio.gather(*self._logs.values())
        finally:
            for task in self._logs.values():
                task.cancel()
            self.display.close()
        return self.outcome

    async def _stream_log(self, app: str, release_id: str) -> None:
        async for text in release_log(self.api, release_id):
            self.display.log(app, text)


def reconnecting(lost: ConnectionLost) -> None:
    click.echo(f"{lost.message}; reconnecting...", err=True)


async def log_lines(api: Api, operation: str, field: str, **variables: Any) -> AsyncIterator[str]:
    """A log subscription's lines (`{number text}` under `field`) as they come, each once, across reconnections
    (which start again from line 1)."""
    shown = 0
    async for data in api.resume(operation, on_retry=reconnecting, **variables):
        line = data[field]
        if line["number"] > shown:
            shown = line["number"]
            yield line["text"]


def release_log(api: Api, release_id: str) -> AsyncIterator[str]:
    """A release phase's lines as they come."""
    return log_lines(api, "release_log", "releaseLog", releaseId=release_id)


def report(outcome: dict[str, dict[str, Any]]) -> bool:
    """Heroku's closing lines: `Promotion successful` or a warning, then each target's result; True if all succeeded."""
    failed = [app for app, event in outcome.items() if event["status"] == "FAILED"]
    click.echo("\nPromotion successful" if not failed else "\nPromotion to some apps failed", err=bool(failed))
    for app, event in sorted(outcome.items()):
        if event["status"] == "FAILED":
            click.echo(f"{app}: failed {event.get('errorMessage') or ''}".rstrip())
        else:
            click.echo(f"{app}: {event['status'].lower()}")
    return not failed


def follow_command_hint(promotion_id: str) -> str:
    return f"pipegraph pipelines:promotion {promotion_id} --follow"
