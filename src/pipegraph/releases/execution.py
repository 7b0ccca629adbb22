"""Running a pending release to its end, in a worker: run the release phase, make it current or failed, and hand
the app's turn to its next pending release. Safe to run twice: a release that is no longer pending is left alone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.expressions import F

from pipegraph.apps.models import App
from pipegraph.db import when_reachable
from pipegraph.jobs.queue import enqueue_all
from pipegraph.jobs.runtime import MAX_ATTEMPTS, Runtime, gave_up_message
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.phase import ReleasePhaseRequest
from pipegraph.releases.service import finish_release, is_due, next_in_line, release_job
from pipegraph.slugs.models import Slug
from pipegraph.streams.logs import RELEASE_LOG, LogEnd, LogLine

logger = logging.getLogger(__name__)


class EarlierReleasePending(Exception):
    """An earlier release of the same app is still pending: this one runs once that one ends, which wakes it."""


async def _count_attempt(release: Release) -> int:
    """Counted once the release may run, so waiting for an earlier one is not an attempt. Touching `updated_at` tells
    the reconciler the release is being worked on."""
    await Release.filter(id=release.id, status=ReleaseStatus.PENDING).update(
        attempts=F("attempts") + 1, updated_at=datetime.now(UTC)
    )
    await release.refresh_from_db(fields=["attempts"])
    return release.attempts


async def run_release(release_id: int, runtime: Runtime) -> Release | None:
    release = await Release.get_or_none(id=release_id)
    if release is None or release.status != ReleaseStatus.PENDING:
        return release
    if not await is_due(release):
        raise EarlierReleasePending(f"v{release.version} of app {release.app_id} waits for an earlier release")
    error: str | None
    if await _count_attempt(release) > MAX_ATTEMPTS:
        error, log = gave_up_message(MAX_ATTEMPTS), ""
    else:
        error, log = await _release_phase(release, runtime)
    return await end_release(release.id, error_message=error, log=log, redis=runtime.redis)


async def end_release(release_id: int, *, error_message: str | None, log: str, redis: ArqRedis) -> Release:
    """Make a pending release SUCCEEDED and current, or FAILED; end its log stream and wake the app's next one."""
    # The release command already ran: wait out a short database outage rather than lose its outcome and run it again.
    finished = await when_reachable(lambda: finish_release(release_id, error_message=error_message, log=log))
    # Every way out ends the log stream: its subscribers stop at once instead of waiting for a quiet stream.
    await RELEASE_LOG.publish(redis, release_id, LogEnd(finished.status.value))
    await hand_over_turn(finished.app_id, redis)
    return finished


async def hand_over_turn(app_id: int, redis: ArqRedis) -> None:
    """Enqueue the job of the app's next pending release, now due. Its job id is the release's own, so a second
    hand-over (a job run twice) adds nothing; one lost with Redis is the reconciler's to redo."""
    following = await next_in_line(app_id)
    if following is None:
        return
    await Release.filter(id=following.id).update(updated_at=datetime.now(UTC))  # due from now, for the reconciler
    try:
        await enqueue_all(redis, [release_job(following)])
    except (RedisError, OSError) as error:
        logger.warning("could not wake release %d, the reconciler will: %s", following.id, error)


async def _release_phase(release: Release, runtime: Runtime) -> tuple[str | None, str]:
    """The slug's release command, if it has one: its error (None when it succeeded) and its output."""
    slug = await Slug.get(id=release.slug_id)
    command = slug.process_types.get("release")
    if not command:
        return None, ""
    blob = runtime.slug_store.path_for(slug.digest)
    if not blob.exists():
        return f"slug blob {slug.checksum} is missing", ""
    app = await App.get(id=release.app_id)

    async def on_line(line: str) -> None:
        await RELEASE_LOG.publish(runtime.redis, release.id, LogLine(line))

    timeout = runtime.settings.release_phase_timeout
    request = ReleasePhaseRequest(
        blob=blob,
        command=str(command),
        config_vars=dict(app.config_vars),
        stack=slug.stack,
        commit=slug.commit,
        timeout=timeout,
    )
    result = await runtime.runner.run(request, on_line)
    return result.error_message(timeout), "\n".join(result.lines)
