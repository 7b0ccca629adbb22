"""What a worker job needs besides IDs: settings, the slug store, the release-phase runner and Redis for events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipegraph.releases.phase import ReleasePhaseRunner
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    slug_store: LocalSlugStore
    runner: ReleasePhaseRunner
    redis: Any  # redis.asyncio.Redis (arq's pool in a worker): events and log lines are published on it


# Copying a slug record, verifying its blob's sha256 and extracting it come on top of the release phase itself.
JOB_OVERHEAD_SECONDS = 60


def earlier_release_patience(release_phase_timeout: float) -> float:
    """How long a release waits for an earlier release of its app (at most one release phase) before retrying."""
    return release_phase_timeout


def job_timeout_seconds(release_phase_timeout: float) -> float:
    """Waiting for an earlier release, then its own release phase, then the bookkeeping around them."""
    return earlier_release_patience(release_phase_timeout) + release_phase_timeout + JOB_OVERHEAD_SECONDS


def lease_seconds(release_phase_timeout: float) -> float:
    """How long a RUNNING target may go without finishing before its worker is presumed dead: longer than any job
    may run, so a live worker is never presumed dead."""
    return job_timeout_seconds(release_phase_timeout) + 30
