"""The runners of app commands, timed: each release phase's and build's duration is added to the shared histograms
/metrics exposes (api/worker_metrics.py)."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis

from pipegraph.api.worker_metrics import BUILD_DURATION, RELEASE_PHASE_DURATION, SharedHistogram, observe
from pipegraph.builds.runner import BuildRequest, BuildResult, BuildRunner
from pipegraph.releases.phase import OnLine, ReleasePhaseRequest, ReleasePhaseResult, ReleasePhaseRunner

logger = logging.getLogger(__name__)


async def _record(redis: Redis, histogram: SharedHistogram, outcome: str, started: float) -> None:
    # A figure that cannot reach Redis is dropped, never the release or build it measured.
    try:
        await observe(redis, histogram, outcome, time.monotonic() - started)
    except Exception as error:
        logger.warning("could not record %s: %s", histogram.name, error)


class TimedRunner:
    """A `ReleasePhaseRunner` whose runs are timed by outcome."""

    def __init__(self, runner: ReleasePhaseRunner, redis: Redis) -> None:
        self.runner, self.redis = runner, redis

    async def run(self, request: ReleasePhaseRequest, on_line: OnLine) -> ReleasePhaseResult:
        started = time.monotonic()
        result = await self.runner.run(request, on_line)
        outcome = "timed_out" if result.timed_out else "succeeded" if result.succeeded else "failed"
        await _record(self.redis, RELEASE_PHASE_DURATION, outcome, started)
        return result


class TimedBuildRunner:
    """A `BuildRunner` whose builds are timed by outcome."""

    def __init__(self, runner: BuildRunner, redis: Redis) -> None:
        self.runner, self.redis = runner, redis

    async def run(self, request: BuildRequest, on_line: OnLine) -> BuildResult:
        started = time.monotonic()
        result = await self.runner.run(request, on_line)
        await _record(self.redis, BUILD_DURATION, "failed" if result.error_message else "succeeded", started)
        return result
