"""Running a pending release to its end, in a worker: wait for earlier releases of the app, run the release phase,
then make it current or failed. Safe to run twice: a release that is no longer pending is left alone."""

from __future__ import annotations

import asyncio
import time

from tortoise.expressions import F

from pipegraph.apps.models import App
from pipegraph.jobs.runtime import MAX_ATTEMPTS, Runtime, gave_up_message
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.phase import ReleasePhaseRequest
from pipegraph.releases.service import finish_release
from pipegraph.slugs.models import Slug
from pipegraph.streams.logs import RELEASE_LOG, LogEnd, LogLine

EARLIER_RELEASE_POLL_SECONDS = 0.05


class EarlierReleasePending(Exception):
    """An earlier release of the same app is still pending: try again later rather than overtake it."""


async def wait_for_earlier_releases(release: Release, *, patience: float) -> None:
    deadline = time.monotonic() + patience
    while await Release.exists(app_id=release.app_id, status=ReleaseStatus.PENDING, version__lt=release.version):
        if time.monotonic() > deadline:
            raise EarlierReleasePending(f"v{release.version} of app {release.app_id} waits for an earlier release")
        await asyncio.sleep(EARLIER_RELEASE_POLL_SECONDS)


async def _count_attempt(release: Release) -> int:
    """Counted once the release may run, so waiting for an earlier one is not an attempt."""
    await Release.filter(id=release.id, status=ReleaseStatus.PENDING).update(attempts=F("attempts") + 1)
    await release.refresh_from_db(fields=["attempts"])
    return release.attempts


async def run_release(release_id: int, runtime: Runtime) -> Release | None:
    release = await Release.get_or_none(id=release_id)
    if release is None or release.status != ReleaseStatus.PENDING:
        return release
    timeout = runtime.settings.release_phase_timeout
    # At most one release phase: the earlier release then ran to its end or its own timeout.
    await wait_for_earlier_releases(release, patience=timeout)
    error: str | None
    if await _count_attempt(release) > MAX_ATTEMPTS:
        error, log = gave_up_message(MAX_ATTEMPTS), ""
    else:
        error, log = await _release_phase(release, runtime)
    finished = await finish_release(release.id, error_message=error, log=log)
    # Every way out ends the log stream: its subscribers stop at once instead of waiting for a quiet stream.
    await RELEASE_LOG.publish(runtime.redis, release.id, LogEnd(finished.status.value))
    return finished


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
