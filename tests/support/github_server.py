"""A small local HTTP server standing in for the few GitHub REST endpoints pipegraph calls, and recording what
pipegraph sent it. GitHub itself cannot be reached from the test machines; everything else in the tests is real.

A commit's tarball is `git archive` of a real local repository, as GitHub's is (one top-level folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.client_scene import free_port


@dataclass
class Sent:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class FakeGitHub:
    """The repositories it serves (full name → local git work tree), the CI state of commits, pull requests, and
    every request pipegraph made."""

    repositories: dict[str, Path] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha → commit statuses
    check_suites: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha → check suites
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # ref → set when its tarball may be served
    installation_id: int = 4242
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # What tests set -------------------------------------------------------------------------------------------------

    def set_status(self, sha: str, context: str, state: str) -> None:
        kept = [status for status in self.statuses.get(sha, []) if status["context"] != context]
        self.statuses[sha] = [*kept, {"context": context, "state": state}]

    def set_check_suite(self, sha: str, app: str, status: str, conclusion: str | None = None) -> None:
        kept = [suite for suite in self.check_suites.get(sha, []) if suite["app"]["slug"] != app]
        suite = {"id": len(kept) + 1, "app": {"slug": app}, "status": status, "conclusion": conclusion}
        self.check_suites[sha] = [*kept, suite]

    def hold_tarball(self, ref: str) -> asyncio.Event:
        """The tarball of `ref` is answered only once the returned event is set (a slow download, for ordering)."""
        self.held[ref] = asyncio.Event()
        return self.held[ref]

    def requests(self, method: str, contains: str = "") -> list[Sent]:
        return [sent for sent in self.sent if sent.method == method and contains in sent.path]

    def posted(self, suffix: str) -> list[Any]:
        """The bodies POSTed to paths ending in `suffix` ("/deployments", "/statuses"), in order."""
        return [sent.body for sent in self.sent if sent.method == "POST" and sent.path.endswith(suffix)]

    # The endpoints ----------------------------------------------------------------------------------------------------

    async def _record(self, request: Request) -> None:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.sent.append(Sent(request.method, request.url.path, body, request.headers.get("authorization")))

    def _repo(self, request: Request) -> Path | None:
        return self.repositories.get(f"{request.path_params['owner']}/{request.path_params['repo']}".lower())

    async def tarball(self, request: Request) -> Response:
        await self._record(request)
        repo, ref = self._repo(request), request.path_params["ref"]
        if ref in self.held:
            await self.held[ref].wait()
        if repo is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        prefix = f"{request.path_params['owner']}-{request.path_params['repo']}-{ref[:7]}/"
        process = await asyncio.create_subprocess_exec(
            "git", "archive", "--format=tar.gz", f"--prefix={prefix}", ref, cwd=repo,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        data, _ = await process.communicate()
        if process.returncode != 0:
            return JSONResponse({"message": "No commit found for the ref"}, status_code=404)
        return Response(data, media_type="application/x-gzip")

    async def commit(self, request: Request) -> Response:
        await self._record(request)
        repo = self._repo(request)
        if repo is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        process = await asyncio.create_subprocess_exec(
            "git", "log", "-1", "--format=%H%n%s", request.path_params["ref"], cwd=repo,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        output, _ = await process.communicate()
        if process.returncode != 0:
            return JSONResponse({"message": "No commit found"}, status_code=422)
        sha, message = output.decode().split("\n", 1)
        return JSONResponse({"sha": sha, "commit": {"message": message.strip()}})

    async def combined_status(self, request: Request) -> Response:
        await self._record(request)
        statuses = self.statuses.get(request.path_params["ref"], [])
        states = {status["state"] for status in statuses}
        state = "failure" if states & {"failure", "error"} else "success" if states == {"success"} else "pending"
        return JSONResponse({"state": state, "statuses": statuses, "total_count": len(statuses)})

    async def suites(self, request: Request) -> Response:
        await self._record(request)
        suites = self.check_suites.get(request.path_params["ref"], [])
        return JSONResponse({"total_count": len(suites), "check_suites": suites})

    async def post_status(self, request: Request) -> Response:
        await self._record(request)
        body = self.sent[-1].body
        self.set_status(request.path_params["sha"], body["context"], body["state"])
        return JSONResponse({"id": next(self._ids), **body}, status_code=201)

    async def deployment(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"id": next(self._ids), **self.sent[-1].body}, status_code=201)

    async def deployment_status(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"id": next(self._ids), **self.sent[-1].body}, status_code=201)

    async def pull(self, request: Request) -> Response:
        await self._record(request)
        pull = self.pulls.get(int(request.path_params["number"]))
        return JSONResponse(pull) if pull else JSONResponse({"message": "Not Found"}, status_code=404)

    async def installation(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"id": self.installation_id})

    async def access_token(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"token": "ghs_installation", "expires_at": "2099-01-01T00:00:00Z"}, status_code=201)

    def app(self) -> Starlette:
        repo = "/repos/{owner}/{repo}"
        return Starlette(
            routes=[
                Route(f"{repo}/tarball/{{ref}}", self.tarball),
                Route(f"{repo}/commits/{{ref}}/status", self.combined_status),
                Route(f"{repo}/commits/{{ref}}/check-suites", self.suites),
                Route(f"{repo}/commits/{{ref:path}}", self.commit),
                Route(f"{repo}/statuses/{{sha}}", self.post_status, methods=["POST"]),
                Route(f"{repo}/deployments", self.deployment, methods=["POST"]),
                Route(f"{repo}/deployments/{{id}}/statuses", self.deployment_status, methods=["POST"]),
                Route(f"{repo}/pulls/{{number}}", self.pull),
                Route(f"{repo}/installation", self.installation),
                Route("/app/installations/{id}/access_tokens", self.access_token, methods=["POST"]),
            ]
        )


@contextlib.asynccontextmanager
async def fake_github() -> AsyncIterator[FakeGitHub]:
    """The stand-in, served by uvicorn on a free local port in the test's event loop."""
    github = FakeGitHub()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(github.app(), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    github.url = f"http://127.0.0.1:{port}"
    try:
        yield github
    finally:
        server.should_exit = True
        await task
