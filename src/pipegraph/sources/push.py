"""The push endpoint the pre-receive hook calls: store the pushed commit's archive, build it, stream the output.

A push grant is signed for one app and one user and expires with the push: the API makes it when it admits a push
(after checking DEPLOY), hands it to the hook through http-backend's environment, and checks it here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds import service as builds
from pipegraph.builds.log import follow_build_log
from pipegraph.builds.models import Build
from pipegraph.ci import service as ci
from pipegraph.ci.commits import Commit
from pipegraph.ci.models import TestRun
from pipegraph.core import signing
from pipegraph.core.errors import DomainError
from pipegraph.core.relay import NO_ROW_ID, db_id
from pipegraph.jobs.queue import Job, JobQueue
from pipegraph.releases.log import follow_release_log
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from pipegraph.sources import service as sources
from pipegraph.sources.hook import RESULT_PREFIX
from pipegraph.sources.models import Source
from pipegraph.sources.store import LocalSourceStore
from pipegraph.streams.hub import StreamHub

PUSH_PATH = "/internal/git-push"


def _purpose(user_id: int) -> str:
    return f"git-push:{user_id}"


def push_grant(settings: Settings, *, app_id: int, user_id: int, ttl: float) -> dict[str, str]:
    """The hook's environment entries for one push of `app_id` by `user_id`."""
    expires = int(time.time() + ttl)
    return {
        "PIPEGRAPH_PUSH_APP": str(app_id),
        "PIPEGRAPH_PUSH_USER": str(user_id),
        "PIPEGRAPH_PUSH_EXPIRES": str(expires),
        "PIPEGRAPH_PUSH_SIGNATURE": signing.signature(settings.secret_key, _purpose(user_id), app_id, expires),
    }


def _granted(settings: Settings, request: Request) -> tuple[int, int] | None:
    headers = request.headers
    # The bounded parse every id goes through: str.isdigit() lets "²" (a latin-1 header byte) through to int().
    app, user = db_id(headers.get("x-pipegraph-push-app", "")), db_id(headers.get("x-pipegraph-push-user", ""))
    if NO_ROW_ID in (app, user):
        return None
    ok = signing.verify(
        settings.secret_key,
        _purpose(user),
        app,
        expires=headers.get("x-pipegraph-push-expires", ""),
        signature_given=headers.get("x-pipegraph-push-signature", ""),
    )
    return (app, user) if ok else None


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _subject(request: Request) -> str | None:
    try:
        return bytes.fromhex(request.headers.get("x-pipegraph-commit-subject", "")).decode(errors="replace") or None
    except ValueError:
        return None


async def receive_push(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    granted = _granted(settings, request)
    if granted is None:
        return PlainTextResponse("this push is not granted (or its grant expired)", status_code=403)
    app = await App.get_or_none(id=granted[0])
    user = await User.get_or_none(id=granted[1])
    if app is None or user is None:
        return PlainTextResponse("the app or the pusher no longer exists", status_code=404)
    streams: StreamHub | None = request.app.state.streams
    if streams is None:
        return PlainTextResponse("git push needs Redis to follow the build, and none is configured", status_code=503)
    try:
        store = LocalSourceStore(settings.source_dir)
        # The hook reached this API by its own address: a name for the source that this server answers to.
        here = replace(settings, public_url=settings.public_url or _origin(request))
        digest, size = await store.put(request.stream(), max_bytes=settings.source_max_bytes)
        # Both rows in one transaction, written once the archive is stored and checked.
        async with in_transaction():
            source = await sources.record_source(app=app, user=user, digest=digest, size=size)
            build, jobs = await builds.create_build(
                settings=settings,
                app=app,
                user=user,
                source_url=sources.get_url(here, source),
                checksum=source.checksum,
                version=request.headers.get("x-pipegraph-commit"),
                buildpacks=None,
                description=_subject(request),
            )
        # With CI on for the app's pipeline, the push is tested too (the run uses the same stored tree).
        runs = await _test_run(app, user, source, request)
    except DomainError as error:
        return PlainTextResponse(error.message, status_code=400)
    queue: JobQueue = request.app.state.jobs
    await queue.enqueue(jobs + [job for _, job_list in runs for job in job_list])
    for run, _ in runs:
        await ci.announce(streams.redis, run)
    return StreamingResponse(_follow(streams, build.id), media_type="text/plain")


async def _test_run(app: App, user: User, source: Source, request: Request) -> list[tuple[TestRun, list[Job]]]:
    pipeline = await ci.ci_pipeline_of(app)
    sha = request.headers.get("x-pipegraph-commit")
    if pipeline is None or not sha:
        return []
    branch = request.headers.get("x-pipegraph-branch") or "main"
    commit = Commit(sha=sha, branch=branch, message=_subject(request))
    run, superseded, jobs = await ci.start_test_run(
        pipeline=pipeline, commit=commit, source_app=app, source=source, actor=user
    )
    return [(run, jobs), *((old, []) for old in superseded)]


async def _follow(streams: StreamHub, build_id: int) -> AsyncIterator[str]:
    async for lines in follow_build_log(streams, build_id):
        for line in lines:
            yield line + "\n"
    build = await Build.get(id=build_id)
    release = await Release.get_or_none(id=build.release_id) if build.release_id else None
    if release is None:
        yield f"{RESULT_PREFIX}{build.status.value}\n"
        return
    if release.status == ReleaseStatus.PENDING:
        # The push waits for its release phase, as Heroku's does: a deploy that fails there is not a success.
        yield "-----> Running release command...\n"
        async for lines in follow_release_log(streams, release.id):
            for line in lines:
                yield f"       {line}\n"
        await release.refresh_from_db()
    if release.status == ReleaseStatus.FAILED:
        yield f" !     Release v{release.version} failed: {release.error_message}\n"
        yield f"{RESULT_PREFIX}failed\n"
        return
    yield f"{RESULT_PREFIX}{build.status.value}\n"
