"""A worker SIGKILLed mid-compile: the reconciler retries the build once, or fails it; never two releases."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

from workers.runner import in_process_worker

from pipegraph.apps.models import App
from pipegraph.builds.execution import utcnow
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.builds.reconciler import reconcile_builds
from pipegraph.releases.models import Release
from pipegraph.settings import Settings
from tests.support.build_scene import PROCFILE_APP, source_tarball, write_buildpack
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app
from tests.support.processes import gone, processes_running
from tests.support.servers import until, worker_process
from tests.test_builds_api import CREATE_BUILD, SET_BUILDPACKS, _source
from tests.test_promotion_recovery import _arq_pool

LATER = timedelta(hours=2)  # the reconciler's "now", past every lease


async def test_a_worker_killed_mid_compile_is_retried_and_releases_once(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    # given a build whose compile hangs
    await create_app(gql, name="shop-staging")
    marker = f"{60 + os.getpid() % 1000 / 1000:.3f}"  # an argument no other process on the host has
    pack = write_buildpack(tmp_path / "bp", compile=f'echo "first attempt"; sleep {marker}')
    await gql(SET_BUILDPACKS, {"input": {"app": "shop-staging", "buildpacks": [str(pack)]}})
    url, _ = await _source(gql, app="shop-staging", data=source_tarball(PROCFILE_APP))
    created = await gql(CREATE_BUILD, {"input": {"app": "shop-staging", "sourceBlob": {"url": url}}})
    assert created["createBuild"]["build"]["status"] == "PENDING"
    build = await Build.get()

    # when a separate worker process is SIGKILLed in the middle of compile
    worker = worker_process(settings, tmp_path / "worker.log")
    try:
        await until(lambda: _running(marker), "compile running in the worker process")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    await build.refresh_from_db()
    assert build.status == BuildStatus.BUILDING
    # then its sandbox died with it: nothing of the build goes on running
    assert await gone(marker)

    # and once the buildpack is fixed (a new attempt copies it afresh)
    write_buildpack(tmp_path / "bp", compile='echo "second attempt"')

    # and the reconciler runs past the lease, and a fresh worker takes it
    pool = await _arq_pool(settings)
    try:
        assert await reconcile_builds(pool, now=utcnow() + LATER) == 1
    finally:
        await pool.aclose()
    # (not a burst worker: the dead worker's job stays queued, held "in progress", until arq's own timeout)
    async with in_process_worker(settings):

        async def finished() -> bool:
            await build.refresh_from_db()
            return build.status.terminal

        await until(finished, "the build finishing after the takeover")

    # then the build succeeded on its second attempt, with exactly one release
    await build.refresh_from_db()
    assert (build.status, build.attempts) == (BuildStatus.SUCCEEDED, 2)
    assert "second attempt" in build.output.splitlines()
    assert [release.id for release in await Release.all()] == [build.release_id]


async def _running(argument: str) -> bool:
    return bool(processes_running(argument))


async def test_a_build_whose_worker_died_on_every_attempt_is_failed_not_left_building(
    gql: GraphQLClient, settings: Settings
) -> None:
    # given a build left BUILDING by a worker that died on its last attempt
    await create_app(gql, name="shop-staging")
    build = await Build.create(
        app=await App.get(name="shop-staging"),
        source_url="https://example.com/x.tgz",
        status=BuildStatus.BUILDING,
        attempts=2,
        lease_expires_at=utcnow(),
    )

    # when the reconciler runs past its lease
    pool = await _arq_pool(settings)
    try:
        assert await reconcile_builds(pool, now=utcnow() + LATER) == 0
    finally:
        await pool.aclose()

    # then it is failed with the reason, not retried nor left BUILDING
    await build.refresh_from_db()
    assert build.status == BuildStatus.FAILED
    assert build.error_message == "the build's worker stopped during each of 2 attempts: giving up"
    assert not await Release.exists()
