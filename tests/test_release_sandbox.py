"""Release commands as an attacker writes them, through the API and a real worker: each fails or is cut off with a
clear message, and the worker goes on to run the next release."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipegraph.releases.phase import WORKSPACE_PREFIX
from pipegraph.sandbox import Limits, Workspaces
from pipegraph.sandbox.process import DEADLINE_GRACE_SECONDS
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.database import is_postgres
from tests.support.factories import create_app, deploy
from tests.support.jobs import JobRunner
from tests.support.processes import FORK_BOMB, gone, processes_running
from tests.support.sandbox import requires_bubblewrap

pytestmark = requires_bubblewrap

PIPEGRAPH = str(Path(sys.executable).parent / "pipegraph")

RELEASES = """
query($app: String!) {
  app(name: $app) { releases(first: 20) { edges { node { version status current errorMessage log } } } }
}"""


async def releases_of(gql: GraphQLClient, app: str) -> dict[int, dict[str, Any]]:
    data = await gql(RELEASES, {"app": app})
    return {edge["node"]["version"]: edge["node"] for edge in data["app"]["releases"]["edges"]}


async def test_release_commands_cannot_reach_pipegraphs_files_nor_the_worker(
    gql: GraphQLClient, settings: Settings
) -> None:
    # given pipegraph's secret key file, its database file and another app's slug, all on this machine
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.data_dir / "secret_key"
    secret.write_text("do-not-leak\n")
    secret.chmod(0o600)
    database = Path(settings.database_url.removeprefix("sqlite://")) if not is_postgres() else secret
    await create_app(gql, name="blog")
    await deploy(gql, app="blog", files={"README": "blog's private code\n"})
    other_slug = next(path for path in settings.slug_dir.rglob("*") if path.is_file())
    assert "incoming" not in other_slug.parts
    await create_app(gql, name="shop")

    # when shop's release commands try to read them and to kill the worker (this very process)
    attacks = {
        1: f"cat {secret}",
        2: f"head -c 16 {database}",
        3: f"cat {other_slug}",
        4: f"kill -KILL {os.getpid()}",
    }
    for version, command in attacks.items():
        await deploy(gql, app="shop", process_types={"release": command}, commit=f"attack{version}")
    await deploy(gql, app="shop", process_types={"release": "echo still working"}, commit="fine0000")
    await JobRunner(settings).drain()

    # then each fails with its reason, nothing leaked, and the worker lived to release v5
    releases = await releases_of(gql, "shop")
    for version in attacks:
        assert releases[version]["status"] == "FAILED", releases[version]
        assert releases[version]["errorMessage"] == "release command exited with status 1"
        assert "do-not-leak" not in releases[version]["log"]
        assert "blog's private code" not in releases[version]["log"]
    for version in (1, 2, 3):
        assert "No such file or directory" in releases[version]["log"]
    assert "No such process" in releases[4]["log"]
    assert (releases[5]["status"], releases[5]["current"], releases[5]["log"]) == ("SUCCEEDED", True, "still working")


async def test_release_commands_that_exhaust_resources_are_stopped(gql: GraphQLClient, settings: Settings) -> None:
    # given workers with small limits
    limits = Limits(processes=32, memory_bytes=256 * 1024 * 1024, output_lines=500)
    worker_settings = replace(settings, sandbox=replace(settings.sandbox, limits=limits))
    await create_app(gql, name="shop")

    # when release commands fork without end, fill memory, print without end, then a plain one runs
    attacks = {
        1: f"python3 -c '{FORK_BOMB}'",
        2: "python3 -c 'b = bytearray(1024 * 1024 * 1024)'",
        3: "yes",
    }
    for version, command in attacks.items():
        await deploy(gql, app="shop", process_types={"release": command}, commit=f"attack{version}")
    await deploy(gql, app="shop", process_types={"release": "echo still working"}, commit="fine0000")
    await JobRunner(worker_settings).drain()

    # then each is stopped and says why, and the next release succeeds
    releases = await releases_of(gql, "shop")
    cut_off = "release command printed more than 1 MiB or 500 lines of output: it was stopped and its output cut there"
    timed_out = f"release phase timed out after {settings.release_phase_timeout:g}s"
    assert (releases[1]["status"], releases[1]["errorMessage"]) == ("FAILED", timed_out)
    assert (releases[2]["status"], releases[2]["errorMessage"]) == ("FAILED", "release command exited with status 1")
    assert "MemoryError" in releases[2]["log"]
    assert (releases[3]["status"], releases[3]["errorMessage"]) == ("FAILED", cut_off)
    assert releases[3]["log"].count("y") == 500
    assert (releases[4]["status"], releases[4]["current"]) == ("SUCCEEDED", True)


@contextlib.contextmanager
def worker_process(settings: Settings, *, tmpdir: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real `pipegraph worker` on the test's database and Redis, its work folders under `tmpdir`."""
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "PIPEGRAPH_DATA_DIR": str(settings.data_dir),
        "PIPEGRAPH_SECRET_KEY": settings.secret_key,
        "PIPEGRAPH_RELEASE_PHASE_TIMEOUT": str(settings.release_phase_timeout),
        "TMPDIR": str(tmpdir),
    }
    with log.open("wb") as output:
        process = subprocess.Popen([PIPEGRAPH, "worker"], env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def said(log: Path) -> str:
    return log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def release_running_in_a_worker(
    gql: GraphQLClient, settings: Settings, log: Path, *, marker: str, release_timeout: float
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Path]]:
    """A worker process of its own, running a release command (`sleep <marker>`) with this timeout; yields the worker
    and the folder its work folders go to."""
    await create_app(gql, name="shop")
    await deploy(gql, app="shop", process_types={"release": f"echo started; sleep {marker}"})
    worker_settings = replace(settings, release_phase_timeout=release_timeout)
    with (
        Workspaces("pipegraph-test-tmpdir-").new() as tmpdir,
        worker_process(worker_settings, tmpdir=tmpdir, log=log) as worker,
    ):
        deadline = time.monotonic() + 60
        while not processes_running(marker):
            assert worker.poll() is None, said(log)
            assert time.monotonic() < deadline, f"the release command never started:\n{said(log)}"
            await asyncio.sleep(0.1)
        yield worker, tmpdir


async def test_a_sigkilled_worker_takes_its_release_command_along_and_its_folder_is_swept(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    # given a worker (in a process of its own) running a release command that would run for ten minutes
    async with release_running_in_a_worker(gql, settings, tmp_path / "log", marker="600.31", release_timeout=120) as (
        worker,
        tmpdir,
    ):
        # when the worker is SIGKILLed
        worker.send_signal(signal.SIGKILL)
        worker.wait()

        # then its release command dies with it, at once
        assert await gone("600.31")
        # and the folder it left is swept by the next worker start (its lock died with the worker)
        left = list(tmpdir.glob(f"{WORKSPACE_PREFIX}*"))
        assert len(left) == 1
        assert Workspaces(WORKSPACE_PREFIX, root=tmpdir).sweep(min_age=0) == 1
        assert not left[0].exists()


async def test_a_frozen_worker_cannot_keep_its_release_command_running_past_the_deadline(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    # given a worker running a release command with a one-second timeout
    running = release_running_in_a_worker(gql, settings, tmp_path / "log", marker="600.32", release_timeout=1)
    async with running as (worker, _):
        # when the worker freezes (SIGSTOP) before it can enforce the timeout
        worker.send_signal(signal.SIGSTOP)
        try:
            # then the command is killed at its own deadline all the same, so a re-run cannot overlap it
            assert await gone("600.32", within=DEADLINE_GRACE_SECONDS + 5)
        finally:
            worker.send_signal(signal.SIGCONT)
