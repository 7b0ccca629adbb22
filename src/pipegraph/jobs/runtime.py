"""What a running job is given besides its row id, and the time budget every job kind lives within."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from pipegraph.builds.runner import BuildRunner
from pipegraph.ci.runner import TestRunner
from pipegraph.releases.phase import ReleasePhaseRunner
from pipegraph.settings import Settings
from pipegraph.slugs.store import SlugStore


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    slug_store: SlugStore
    runner: ReleasePhaseRunner
    redis: ArqRedis  # arq's own pool in a worker: events and log lines are published, wake-ups enqueued on it
    build_runner: BuildRunner
    test_runner: TestRunner


# Copying a slug record, verifying its blob's sha256 and extracting it come on top of the release phase itself.
JOB_OVERHEAD_SECONDS = 60
# A row whose job crashed or lost its worker this often is failed with a message saying so, instead of being tried
# for ever (a poison job). Waiting for an earlier release is not an attempt.
MAX_ATTEMPTS = 5


def gave_up_message(attempts: int) -> str:
    return (
        f"gave up after {attempts} attempts: each one crashed or lost its worker before finishing "
        "(the worker's log says why)"
    )


def job_timeout_seconds(release_phase_timeout: float) -> float:
    """Its own release phase, then the bookkeeping around it (a job never waits for an earlier release: it is only
    run once that one ended)."""
    return release_phase_timeout + JOB_OVERHEAD_SECONDS


def lease_seconds(release_phase_timeout: float) -> float:
    """How long a RUNNING target may go without finishing before its worker is presumed dead: longer than any job
    may run, so a live worker is never presumed dead."""
    return job_timeout_seconds(release_phase_timeout) + 30


def build_job_timeout(settings: Settings) -> float:
    """Fetching the source and the buildpacks, the buildpacks' own time limit, then packing and storing the slug."""
    return settings.build_timeout + 2 * settings.fetch_timeout + JOB_OVERHEAD_SECONDS


def build_lease_seconds(settings: Settings) -> float:
    """A BUILDING build untouched this long lost its worker: longer than its job may run."""
    return build_job_timeout(settings) + 30


def test_job_timeout(settings: Settings) -> float:
    """Fetching the commit's tree and the buildpacks, then the run's own time limit (build, setup and test)."""
    return settings.test_run_timeout + 2 * settings.fetch_timeout + JOB_OVERHEAD_SECONDS


def test_lease_seconds(settings: Settings) -> float:
    """A test node untouched this long lost its worker: longer than its job may run."""
    return test_job_timeout(settings) + 30
