"""A pipeline connected to a repository of a stand-in GitHub: webhook payloads shaped like octokit/webhooks'
examples (only the fields pipegraph reads, and a few around them), signed here as GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pipegraph.jobs.queue import Job, JobQueue
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app
from tests.support.git_scene import commit, git, work_tree
from tests.support.github_server import FakeGitHub
from tests.support.jobs import JobRunner

REPO = "octo-org/shop"

APP_FILES = {
    "Procfile": "web: ./bin/web\n",
    "bin/web": "#!/bin/sh\necho serving\n",
}

CONNECT = """
mutation($input: ConnectRepositoryInput!) {
  connectRepository(input: $input) {
    repository { fullName } webhookUrl webhookSecret userErrors { field message code }
  }
}"""

ENABLE_REVIEW_APPS = """
mutation($input: EnableReviewAppsInput!) {
  enableReviewApps(input: $input) { config { automatic baseName staleDays } userErrors { field message code } }
}"""

ENABLE_AUTO = """
mutation($input: EnableAutomaticDeploysInput!) {
  enableAutomaticDeploys(input: $input) { automaticDeploy { branch waitForCi } userErrors { field message code } }
}"""

REVIEW_APPS = """
query($name: String!) {
  pipeline(name: $name) {
    reviewApps(deleted: true) {
      app { name configVars releases(first: 10) { edges { node { version } } } collaborators { user { email } } }
      appName prNumber branch headSha fork status message postdeployOutput predestroyOutput
      build { status output }
    }
  }
}"""

DELIVERIES = """
query($name: String!) {
  pipeline(name: $name) { deliveries(first: 50) { deliveryId event action outcome message } }
}"""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _repository(full_name: str = REPO, *, fork: bool = False) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": abs(hash(full_name)) % 10**8,
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": {"login": owner, "type": "Organization"},
        "fork": fork,
        "default_branch": "main",
    }


def pull_request_payload(
    action: str, number: int, *, sha: str, branch: str, head_repo: str = REPO, merged: bool = False
) -> dict[str, Any]:
    """As octokit/webhooks' pull_request/<action>.payload.json."""
    fork = head_repo != REPO
    pull = {
        "url": f"https://api.github.com/repos/{REPO}/pulls/{number}",
        "number": number,
        "state": "closed" if action == "closed" else "open",
        "title": "Add checkout",
        "draft": False,
        "merged": merged,
        "html_url": f"https://github.com/{REPO}/pull/{number}",
        "head": {"label": f"x:{branch}", "ref": branch, "sha": sha, "repo": _repository(head_repo, fork=fork)},
        "base": {"label": "octo-org:main", "ref": "main", "sha": "0" * 39 + "1", "repo": _repository()},
    }
    payload: dict[str, Any] = {
        "action": action,
        "number": number,
        "pull_request": pull,
        "repository": _repository(),
        "sender": {"login": "ada"},
    }
    if action == "synchronize":
        payload.update(before="f" * 40, after=sha)
    return payload


def push_payload(
    branch: str, sha: str, *, message: str = "Add checkout", sender: dict[str, Any] | None = None
) -> dict[str, Any]:
    """As octokit/webhooks' push/with-new-branch.payload.json (`sender`: who pushed, by default ada)."""
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": sha,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{REPO}/compare/x...y",
        "commits": [{"id": sha, "message": message}],
        "head_commit": {"id": sha, "message": message, "timestamp": "2026-11-27T09:00:00Z"},
        "repository": _repository(),
        "pusher": {"name": "ada", "email": "ada@example.com"},
        "sender": sender if sender is not None else {"login": "ada", "id": 7, "type": "User"},
    }


def status_payload(sha: str, state: str, context: str = "ci/test") -> dict[str, Any]:
    """As octokit/webhooks' status/payload.json."""
    return {
        "id": 1,
        "sha": sha,
        "name": REPO,
        "target_url": None,
        "context": context,
        "description": None,
        "state": state,
        "branches": [],
        "repository": _repository(),
    }


def check_suite_payload(sha: str, conclusion: str) -> dict[str, Any]:
    """As octokit/webhooks' check_suite/completed.1.payload.json."""
    return {
        "action": "completed",
        "check_suite": {
            "id": 5,
            "head_branch": "main",
            "head_sha": sha,
            "status": "completed",
            "conclusion": conclusion,
            "app": {"slug": "github-actions"},
            "pull_requests": [],
        },
        "repository": _repository(),
    }


@dataclass
class GitHubScene:
    gql: GraphQLClient
    http: httpx.AsyncClient
    github: FakeGitHub
    jobs: JobRunner
    work: Path
    pipeline: str = "shop"
    secret: str = ""
    sent_deliveries: list[str] = field(default_factory=list)

    async def setup(self, *, files: dict[str, str] | None = None, app: str = "shop-staging") -> str:
        """A repository with a first commit, registered with the stand-in; a pipeline connected to it. The sha."""
        await work_tree(self.work, files or APP_FILES)
        self.github.repositories[REPO] = self.work
        await create_app(self.gql, name=app)
        created = await self.gql(
            'mutation($a: String!) { createPipeline(input: {name: "shop", app: $a}) { userErrors { message } } }',
            {"a": app},
        )
        assert created["createPipeline"]["userErrors"] == [], created
        connected = (await self.gql(CONNECT, {"input": {"pipeline": self.pipeline, "repository": REPO}}))[
            "connectRepository"
        ]
        assert connected["userErrors"] == [], connected
        self.secret = connected["webhookSecret"]
        return await self.head()

    async def head(self) -> str:
        return (await git("rev-parse", "HEAD", cwd=self.work)).output.strip()

    async def commit(self, files: dict[str, str], *, branch: str = "main", message: str = "Change") -> str:
        if branch != "main":
            checked = await git("checkout", "-B", branch, cwd=self.work)
            assert checked.code == 0, checked.output
        return await commit(self.work, files, message=message)

    async def deliver(
        self, event: str, payload: dict[str, Any], *, delivery: str | None = None, secret: str | None = None
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        delivery = delivery or str(uuid.uuid4())
        headers = {
            "content-type": "application/json",
            "x-github-event": event,
            "x-github-delivery": delivery,
            "user-agent": "GitHub-Hookshot/test",
        }
        if secret != "":
            headers["x-hub-signature-256"] = sign(secret or self.secret, body)
        self.sent_deliveries.append(delivery)
        return await self.http.post("/webhooks/github", content=body, headers=headers)

    async def look_again(self, overdue: Callable[[datetime], Awaitable[list[Job]]]) -> int:
        """What the worker's cron does with the waits for CI past their deadline (`overdue_deploys`, …): their
        jobs run again, looking at GitHub. How many did."""
        jobs = await overdue(datetime.now(UTC))
        await JobQueue(self.jobs.settings.redis_url).enqueue(jobs)
        await self.jobs.drain()
        return len(jobs)

    async def review_apps(self) -> list[dict[str, Any]]:
        data = await self.gql(REVIEW_APPS, {"name": self.pipeline})
        rows: list[dict[str, Any]] = data["pipeline"]["reviewApps"]
        return rows

    async def enable_review_apps(self, **options: Any) -> None:
        payload = (await self.gql(ENABLE_REVIEW_APPS, {"input": {"pipeline": self.pipeline, **options}}))[
            "enableReviewApps"
        ]
        assert payload["userErrors"] == [], payload
