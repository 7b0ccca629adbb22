"""What a recorded webhook delivery does, worked in a job: each event goes to the handlers subscribed to it.

Handlers subscribe by event name (`on_push`, `on_pull_request`, `on_ci_status`, or `on("event")`) at import; the
worker imports the modules that hold them (workers/jobs.py). A handler gets the delivery's parsed payload and the
pipelines connected to its repository, and returns what it did (shown on the delivery) and the jobs to enqueue.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipegraph.core.errors import DomainError
from pipegraph.github.models import DeliveryOutcome, RepositoryConnection, WebhookDelivery
from pipegraph.github.service import connections_for
from pipegraph.jobs.queue import Job, JobKind
from pipegraph.settings import Settings

logger = logging.getLogger(__name__)

PROCESS_DELIVERY = JobKind("process_github_delivery", "github-delivery")
ZERO_SHA = "0" * 40
# A GitHub login (letters, digits, dashes; an app's bot account ends in "[bot]"): anything else is not shown.
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?")


def delivery_job(delivery_id: int) -> Job:
    return PROCESS_DELIVERY.job(delivery_id)


@dataclass(frozen=True)
class GitHubEvent:
    """A verified delivery, parsed, with the pipelines connected to its repository."""

    name: str  # X-GitHub-Event: push, pull_request, status, check_suite, …
    action: str | None
    data: dict[str, Any]
    delivery_id: int
    connections: list[RepositoryConnection]
    settings: Settings

    @property
    def repository(self) -> str:
        return str((self.data.get("repository") or {}).get("full_name", "")).lower()


@dataclass(frozen=True)
class PushEvent:
    """A push of a branch (tags and deletions never reach push handlers)."""

    event: GitHubEvent
    branch: str
    sha: str  # `after`: the branch's new head
    message: str  # the head commit's first line
    pusher: str | None  # who pushed: their GitHub login (the sender's, else the pusher's name), if it is one

    @classmethod
    def parse(cls, event: GitHubEvent) -> PushEvent | None:
        data = event.data
        ref = str(data.get("ref", ""))
        after = str(data.get("after", ""))
        if not ref.startswith("refs/heads/") or data.get("deleted") or after in ("", ZERO_SHA):
            return None
        head = data.get("head_commit") or {}
        message = str(head.get("message", "")).split("\n", 1)[0]
        return cls(event, ref.removeprefix("refs/heads/"), after, message, _pusher(data))


def _pusher(data: dict[str, Any]) -> str | None:
    """The account that pushed: `sender.login` (GitHub's own account of who triggered the event), else `pusher.name`
    (which GitHub fills with the login too); None when neither is a login."""
    for holder, key in (("sender", "login"), ("pusher", "name")):
        value = (data.get(holder) or {}).get(key)
        if isinstance(value, str) and GITHUB_LOGIN.fullmatch(value):
            return value
    return None


@dataclass
class Handled:
    """What a handler did: `note` is shown on the delivery (empty: nothing to say), `jobs` are enqueued."""

    note: str = ""
    jobs: list[Job] = field(default_factory=list)


Handler = Callable[[GitHubEvent], Awaitable[Handled]]
PushHandler = Callable[[PushEvent], Awaitable[Handled]]
_handlers: dict[str, list[Handler]] = {}

# The events that say a commit's CI moved on: deploys and review apps waiting for CI look again.
CI_EVENTS = ("status", "check_suite", "check_run")


def on(event_name: str) -> Callable[[Handler], Handler]:
    def subscribe(handler: Handler) -> Handler:
        handlers = _handlers.setdefault(event_name, [])
        if handler not in handlers:
            handlers.append(handler)
        return handler

    return subscribe


def on_push(handler: PushHandler) -> PushHandler:
    """Subscribe to pushes of branches (CI subscribes here): tags and branch deletions are filtered out."""

    async def adapted(event: GitHubEvent) -> Handled:
        push = PushEvent.parse(event)
        return await handler(push) if push is not None else Handled()

    adapted.__name__ = getattr(handler, "__name__", "push_handler")
    on("push")(adapted)
    return handler


def on_pull_request(handler: Handler) -> Handler:
    return on("pull_request")(handler)


def on_ci_status(handler: Handler) -> Handler:
    """`status`, `check_suite` and `check_run` events alike: `ci_sha(event)` is the commit concerned."""
    for name in CI_EVENTS:
        on(name)(handler)
    return handler


def ci_sha(event: GitHubEvent) -> str | None:
    data = event.data
    if event.name == "status":
        return str(data.get("sha") or "") or None
    holder = data.get(event.name) or {}
    return str(holder.get("head_sha") or "") or None


async def process_delivery(delivery_id: int, settings: Settings) -> tuple[WebhookDelivery | None, list[Job]]:
    """Run a queued delivery's handlers once; its outcome and notes are kept on it."""
    delivery = await WebhookDelivery.get_or_none(id=delivery_id)
    if delivery is None or delivery.outcome != DeliveryOutcome.QUEUED:
        return delivery, []
    connections = await connections_for(delivery.repository or "")
    event = GitHubEvent(
        name=delivery.event,
        action=delivery.action,
        data=delivery.payload,
        delivery_id=delivery.id,
        connections=connections,
        settings=settings,
    )
    notes: list[str] = []
    jobs: list[Job] = []
    outcome = DeliveryOutcome.PROCESSED
    handlers = _handlers.get(delivery.event, [])
    if not connections:
        outcome, notes = DeliveryOutcome.IGNORED, [f"no pipeline is connected to {delivery.repository}"]
    elif not handlers:
        outcome, notes = DeliveryOutcome.IGNORED, [f"pipegraph does nothing on {delivery.event} events"]
    else:
        for handler in handlers:
            try:
                handled = await handler(event)
            except DomainError as error:
                outcome = DeliveryOutcome.FAILED
                notes.append(error.message)
                continue
            if handled.note:
                notes.append(handled.note)
            jobs.extend(handled.jobs)
        if outcome == DeliveryOutcome.PROCESSED and not jobs:
            outcome = DeliveryOutcome.IGNORED
    await WebhookDelivery.filter(id=delivery.id, outcome=DeliveryOutcome.QUEUED).update(
        outcome=outcome, message="; ".join(notes) or "nothing to do", processed_at=datetime.now(UTC)
    )
    await delivery.refresh_from_db()
    return delivery, jobs
