"""Waiting for CI that may never come (PIPEGRAPH_WAIT_FOR_CI_TIMEOUT), for automatic deploys and review apps alike.

Heroku waits for ever, in silence, on a commit no CI reports on; here a wait has a deadline. Past it, a commit with
still no commit status and no check suite is given up, saying why; CI that did report is waited for, looked at again
a timeout later, so a lost status event delays the work instead of holding it. A cron finds the waits past their
deadline (each domain's `overdue_…`) and has their jobs look at GitHub again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.queryset import QuerySet

from pipegraph.github.client import CiState

SETTING = "PIPEGRAPH_WAIT_FOR_CI_TIMEOUT"


def from_now(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def no_ci_reported(sha: str, timeout: float, since: str) -> str:
    return (
        f"no commit status or check suite was reported on {sha[:7]} within {duration(timeout)} of {since} ({SETTING})"
    )


async def wait_or_give_up(
    waiting: QuerySet[Any], ci: CiState, wait: float, *, deadline: datetime | None, give_up: dict[str, Any]
) -> bool:
    """CI has not succeeded on a commit. `waiting` is the row, filtered to the state it waits in: every change is a
    conditional update, so a newer push or a cancellation coming meanwhile wins. A wait without a deadline yet gets
    one now. Nothing reported past the deadline: `give_up` is applied, and True returned."""
    now = datetime.now(UTC)
    if not ci.reported and await waiting.filter(ci_deadline__lte=now).update(**give_up, ci_deadline=None):
        return True
    more = {"ci_deadline": now + timedelta(seconds=wait)} if ci.reported or deadline is None else {}
    await waiting.update(message=f"waiting for CI: {ci.reason}", **more)
    return False
