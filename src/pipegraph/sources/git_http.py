"""`/git/<app>.git`: git's smart HTTP protocol served by git's own `git http-backend` CGI program.

This module only authenticates (HTTP Basic, an API token as the password, as on Heroku), authorizes (clone needs
view, push needs deploy, checked before git sees a byte), and bridges the request to the CGI process and back,
streaming both ways so a push's hook output reaches the client as it is printed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive

from pipegraph.access.checks import authorized_app
from pipegraph.access.policy import Access
from pipegraph.accounts.models import User
from pipegraph.accounts.service import authenticate
from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, NotFound
from pipegraph.jobs.runtime import build_job_timeout
from pipegraph.settings import Settings
from pipegraph.sources import child, hook
from pipegraph.sources.push import PUSH_PATH, push_grant
from pipegraph.sources.repos import ensure_repo, git_env

SERVICES = ("git-upload-pack", "git-receive-pack")
READ_CHUNK = 64 * 1024


def _unauthorized(message: str) -> Response:
    return PlainTextResponse(message, status_code=401, headers={"WWW-Authenticate": 'Basic realm="pipegraph"'})


def _basic_password(authorization: str | None) -> str | None:
    """The token in `Authorization: Basic`: the password (any user name), or the user name when no password."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password or user or None


def _service(request: Request, path: str) -> str | None:
    if path == "info/refs":
        service = request.query_params.get("service", "")
        return service if service in SERVICES else None
    return path if path in SERVICES and request.method == "POST" else None


async def _viewer(request: Request) -> User | Response:
    secret = _basic_password(request.headers.get("authorization"))
    if secret is None:
        return _unauthorized("authenticate with any user name and an API token as the password")
    token = await authenticate(secret)
    if token is None:
        return _unauthorized("invalid or revoked API token")
    return token.user


async def _authorized_app(viewer: User, name: str, service: str) -> App | Response:
    operation = "gitPush" if service == "git-receive-pack" else "gitClone"
    try:
        app = await authorized_app(Access(viewer), name, operation)
    except NotFound:
        return PlainTextResponse(f"app {name} not found", status_code=404)
    except DomainError as error:
        return PlainTextResponse(error.message, status_code=403)
    return app


def _cgi_env(request: Request, settings: Settings, app: App, path: str, viewer: User) -> dict[str, str]:
    env = git_env(
        GIT_PROJECT_ROOT=str(settings.repo_dir),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{app.id}.git/{path}",
        REQUEST_METHOD=request.method,
        QUERY_STRING=request.url.query,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        REMOTE_USER=viewer.email,
        REMOTE_ADDR=request.client.host if request.client else "",
        # A push's pack is bounded like any source: receive-pack refuses a larger one before storing it.
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="receive.maxInputSize",
        GIT_CONFIG_VALUE_0=str(settings.source_max_bytes),
    )
    for header, variable in (
        ("content-length", "CONTENT_LENGTH"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ):
        if header in request.headers:
            env[variable] = request.headers[header]
    return env


def _push_env(request: Request, settings: Settings, app: App, viewer: User) -> dict[str, str]:
    """What the pre-receive hook needs, and nothing more: where to hand the commit, and a grant for this push."""
    server = request.scope.get("server")
    base = f"http://{server[0]}:{server[1]}" if server and server[1] else settings.public_url
    return {
        "PIPEGRAPH_PUSH_URL": base + PUSH_PATH,
        "PIPEGRAPH_PYTHON": sys.executable,
        "PIPEGRAPH_HOOK": hook.__file__,
        **push_grant(settings, app_id=app.id, user_id=viewer.id, ttl=build_job_timeout(settings) + 600),
    }


async def git_http(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    repo, path = request.path_params["repo"], request.path_params["path"]
    service = _service(request, path)
    if not repo.endswith(".git") or service is None:
        return PlainTextResponse("only git's smart HTTP protocol is served here", status_code=404)
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    app = await _authorized_app(viewer, repo.removesuffix(".git"), service)
    if isinstance(app, Response):
        return app
    backend = await asyncio.to_thread(_prepare, settings.repo_dir, app.id)
    env = _cgi_env(request, settings, app, path, viewer)
    if service == "git-receive-pack" and request.method == "POST":
        env.update(_push_env(request, settings, app, viewer))
    return await _run_backend(request, backend, env)


def _prepare(repo_root: Path, app_id: int) -> list[str]:
    ensure_repo(repo_root, app_id)
    return backend_argv()


@functools.cache
def backend_argv() -> list[str]:
    """git's http-backend program itself, as web servers run it: `git http-backend` would start git only for it to
    start the program, one more process for each of a push's two requests."""
    try:
        found = subprocess.run(["git", "--exec-path"], env=git_env(), capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ["git", "http-backend"]
    program = Path(found.stdout.strip()) / "git-http-backend"
    return [str(program)] if os.access(program, os.X_OK) else ["git", "http-backend"]


async def _run_backend(request: Request, backend: list[str], env: dict[str, str]) -> Response:
    process = await child.start(backend, env=env)
    feeding = asyncio.create_task(_feed(request, process))
    try:
        head = await process.stdout.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        await _reap(process, feeding)
        return PlainTextResponse("git http-backend failed", status_code=500)
    status, headers = _parse_cgi_head(head)
    return _CgiResponse(_body(process, feeding), feeding, status_code=status, headers=headers)


class _CgiResponse(StreamingResponse):
    """git's answer, streamed. The request's body belongs to `_feed` until it has all been read: the disconnect
    listener of a streaming response (under ASGI before 2.4, uvicorn's) reads the same `receive`, and when git's head
    came first it took the pushed pack, leaving http-backend waiting for it, and the push hung."""

    def __init__(self, content: AsyncIterator[bytes], feeding: asyncio.Task[None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.feeding = feeding

    async def listen_for_disconnect(self, receive: Receive) -> None:
        await asyncio.wait([self.feeding])  # not `await`: the listener's cancellation must not cancel the feeding
        await super().listen_for_disconnect(receive)


def _parse_cgi_head(head: bytes) -> tuple[int, dict[str, str]]:
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if not name:
            continue
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[name.strip()] = value.strip()
    return status, headers


async def _feed(request: Request, process: child.Child) -> None:
    try:
        async for chunk in request.stream():
            if chunk:
                process.stdin.write(chunk)
                await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # git stopped reading: it answers with the error itself
    finally:
        process.stdin.close()


async def _body(process: child.Child, feeding: asyncio.Task[None]) -> AsyncIterator[bytes]:
    try:
        while chunk := await process.stdout.read(READ_CHUNK):
            yield chunk
    finally:
        await _reap(process, feeding)


async def _reap(process: child.Child, feeding: asyncio.Task[None]) -> None:
    if process.returncode is None:
        if not feeding.done():
            process.kill()
        await process.wait()
    feeding.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await feeding
