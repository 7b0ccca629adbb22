"""Calls to GitHub's REST API through gidgethub, authenticated as a GitHub App installation or with a token.

The API's base URL is a setting (`PIPEGRAPH_GITHUB_API_URL`), so GitHub Enterprise Server works the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from gidgethub import GitHubException
from gidgethub import abc as gh_abc
from gidgethub.apps import get_installation_access_token, get_jwt

from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.settings import GitHubSettings

USER_AGENT = "pipegraph"
TIMEOUT_SECONDS = 30.0


class GitHubUnavailable(DomainError):
    """GitHub refused or could not be reached: the message says which call and why."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.GITHUB_UNAVAILABLE, message)


class _GitHubAPI(gh_abc.GitHubAPI):
    """gidgethub over this project's httpx client (gidgethub's own module prefers another httpx distribution)."""

    def __init__(self, client: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        self._client = client
        super().__init__(*args, **kwargs)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        response = await self._client.request(method, url, headers=dict(headers), content=body)
        return response.status_code, response.headers, response.content

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class CiState:
    """What every commit status and check suite of a commit says together."""

    state: str  # "success", "pending" or "failure"
    reason: str  # for people: which context failed, or what is still running
    reported: bool = True  # False: no commit status and no check suite at all (yet)

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed(self) -> bool:
        return self.state == "failure"


_GREEN_CONCLUSIONS = {"success", "neutral", "skipped"}


def combine_ci(combined_status: Mapping[str, Any], check_suites: Mapping[str, Any]) -> CiState:
    """Heroku's rule since 2018: every commit status and every check suite succeeded. Nothing reported yet is
    pending (CI may not have started); any failure decides at once."""
    statuses = combined_status.get("statuses") or []
    suites = check_suites.get("check_suites") or []
    for status in statuses:
        if status.get("state") in ("failure", "error"):
            return CiState("failure", f"commit status {status.get('context')!r} is {status.get('state')}")
    for suite in suites:
        conclusion = suite.get("conclusion")
        if suite.get("status") == "completed" and conclusion not in _GREEN_CONCLUSIONS:
            name = (suite.get("app") or {}).get("slug") or suite.get("id")
            return CiState("failure", f"check suite {name!r} concluded {conclusion}")
    if not statuses and not suites:
        return CiState("pending", "no commit status or check suite reported yet", reported=False)
    for status in statuses:
        if status.get("state") != "success":
            return CiState("pending", f"commit status {status.get('context')!r} is {status.get('state')}")
    for suite in suites:
        if suite.get("status") != "completed":
            name = (suite.get("app") or {}).get("slug") or suite.get("id")
            return CiState("pending", f"check suite {name!r} is {suite.get('status')}")
    return CiState("success", "every commit status and check suite succeeded")


@dataclass(frozen=True)
class PullRequest:
    number: int
    branch: str  # head.ref
    sha: str  # head.sha
    fork: bool  # from another repository than the base's

    @classmethod
    def from_payload(cls, pull: Mapping[str, Any]) -> PullRequest:
        head, base = pull.get("head") or {}, pull.get("base") or {}
        head_repo = (head.get("repo") or {}).get("full_name")
        base_repo = (base.get("repo") or {}).get("full_name")
        fork = bool((head.get("repo") or {}).get("fork")) or (head_repo or "").lower() != (base_repo or "").lower()
        return cls(number=int(pull["number"]), branch=str(head.get("ref", "")), sha=str(head.get("sha", "")), fork=fork)


def _repo_path(full_name: str) -> str:
    owner, _, name = full_name.partition("/")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


class GitHubClient:
    """One repository's calls. Make it with `for_repository` (an async context manager)."""

    def __init__(self, api: _GitHubAPI, http: httpx.AsyncClient, settings: GitHubSettings, full_name: str) -> None:
        self.api, self.http, self.settings, self.full_name = api, http, settings, full_name
        self.repo = _repo_path(full_name)

    @classmethod
    @contextlib.asynccontextmanager
    async def for_repository(cls, settings: GitHubSettings, full_name: str) -> AsyncIterator[GitHubClient]:
        """Authenticated for `full_name`: as the GitHub App's installation on it when an app is configured (looked
        up per repository), else with the token. GitHubUnavailable when neither is set or GitHub refuses."""
        if not settings.configured:
            raise GitHubUnavailable(
                "GitHub is not configured on this server: set PIPEGRAPH_GITHUB_TOKEN, or PIPEGRAPH_GITHUB_APP_ID "
                "and PIPEGRAPH_GITHUB_APP_PRIVATE_KEY"
            )
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=True) as http:
            bare = _GitHubAPI(http, USER_AGENT, base_url=settings.api_url)
            token = settings.token
            if settings.app_id and settings.app_private_key:
                token = await _installation_token(bare, settings, full_name)
            api = _GitHubAPI(http, USER_AGENT, oauth_token=token, base_url=settings.api_url)
            yield cls(api, http, settings, full_name)

    async def _call(self, what: str, method: str, url: str, data: Any = None) -> Any:
        try:
            if method == "GET":
                return await self.api.getitem(url)
            return await self.api.post(url, data=data)
        except (GitHubException, httpx.HTTPError) as error:
            raise GitHubUnavailable(f"GitHub {what} of {self.full_name} failed: {_describe(error)}") from None

    async def repository(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("repository lookup", "GET", self.repo)
        return result

    async def branch_head(self, branch: str) -> tuple[str, str]:
        """The commit at the tip of `branch`: its sha and message's first line."""
        commit = await self._call("branch lookup", "GET", f"{self.repo}/commits/{quote(branch, safe='')}")
        return str(commit["sha"]), str((commit.get("commit") or {}).get("message", "")).split("\n", 1)[0]

    async def pull_request(self, number: int) -> PullRequest:
        data = await self._call("pull request lookup", "GET", f"{self.repo}/pulls/{int(number)}")
        return PullRequest.from_payload(data)

    async def combined_ci(self, sha: str) -> CiState:
        """Every commit status (the combined status) and every check suite of `sha`, judged together."""
        combined = await self._call("combined status", "GET", f"{self.repo}/commits/{sha}/status")
        suites = await self._call("check suites", "GET", f"{self.repo}/commits/{sha}/check-suites")
        return combine_ci(combined, suites)

    async def post_commit_status(
        self, sha: str, *, state: str, context: str, description: str = "", target_url: str | None = None
    ) -> None:
        """A commit status (`state`: pending, success, failure or error), as CI and deploys report them."""
        body: dict[str, Any] = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        await self._call("commit status", "POST", f"{self.repo}/statuses/{sha}", body)

    async def create_deployment(
        self, sha: str, *, environment: str, description: str = "", transient: bool = False
    ) -> int:
        """A GitHub deployment of `sha` to `environment` (the app's name): the pull request shows "deployed to"."""
        body = {
            "ref": sha,
            "environment": environment,
            "description": description[:140],
            "auto_merge": False,
            "required_contexts": [],  # pipegraph already waited for CI when asked to
            "transient_environment": transient,
        }
        created = await self._call("deployment", "POST", f"{self.repo}/deployments", body)
        return int(created["id"])

    async def post_deployment_status(
        self, deployment_id: int, *, state: str, description: str = "", log_url: str | None = None
    ) -> None:
        """`state`: in_progress, success, failure, error or inactive."""
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if log_url:
            body["log_url"] = log_url
        await self._call("deployment status", "POST", f"{self.repo}/deployments/{deployment_id}/statuses", body)

    async def commit_tarball(self, sha: str, into: Path, *, max_bytes: int) -> Path:
        """GitHub's tar.gz of the commit (one top-level folder, which builds unwrap), written to `into`."""
        headers = {"user-agent": USER_AGENT, "accept": "application/vnd.github+json"}
        if self.api.oauth_token:
            headers["authorization"] = f"token {self.api.oauth_token}"
        size = 0
        try:
            async with self.http.stream(
                "GET", f"{self.settings.api_url}{self.repo}/tarball/{sha}", headers=headers
            ) as response:
                if response.status_code != 200:
                    raise GitHubUnavailable(
                        f"GitHub tarball of {self.full_name}@{sha[:7]} failed: HTTP {response.status_code}"
                    )
                with into.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise DomainError(
                                ErrorCode.SOURCE_TOO_LARGE,
                                f"the tarball of {self.full_name}@{sha[:7]} is larger than {max_bytes} bytes",
                            )
                        out.write(chunk)
        except httpx.HTTPError as error:
            raise GitHubUnavailable(f"GitHub tarball of {self.full_name}@{sha[:7]} failed: {error}") from None
        return into


async def _installation_token(api: _GitHubAPI, settings: GitHubSettings, full_name: str) -> str:
    try:
        jwt = get_jwt(app_id=settings.app_id, private_key=settings.app_private_key)
        installation = await api.getitem(f"{_repo_path(full_name)}/installation", jwt=jwt)
        token = await get_installation_access_token(
            api, installation_id=str(installation["id"]), app_id=settings.app_id, private_key=settings.app_private_key
        )
    except (GitHubException, httpx.HTTPError, ValueError) as error:
        raise GitHubUnavailable(
            f"the GitHub App has no installation on {full_name}, or GitHub refused it: {_describe(error)}"
        ) from None
    return str(token["token"])


def _describe(error: Exception) -> str:
    if isinstance(error, GitHubException) and getattr(error, "status_code", None) is not None:
        return f"HTTP {int(error.status_code)} {error}".strip()  # type: ignore[attr-defined]
    return str(error) or type(error).__name__


async def post_commit_status(
    settings: GitHubSettings,
    full_name: str,
    sha: str,
    *,
    state: str,
    context: str,
    description: str = "",
    target_url: str | None = None,
) -> None:
    """Post one commit status on `full_name`@`sha` (CI reports `continuous-integration/pipegraph` this way);
    GitHubUnavailable when GitHub is not configured or refuses."""
    async with GitHubClient.for_repository(settings, full_name) as github:
        await github.post_commit_status(
            sha, state=state, context=context, description=description, target_url=target_url
        )


async def fetch_commit_tarball(
    settings: GitHubSettings, full_name: str, sha: str, into: Path, *, max_bytes: int
) -> Path:
    """GitHub's tar.gz of `full_name`@`sha` written to the file `into` (one top-level folder, as GitHub makes them)."""
    async with GitHubClient.for_repository(settings, full_name) as github:
        return await github.commit_tarball(sha, into, max_bytes=max_bytes)
