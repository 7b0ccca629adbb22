"""Thin arq jobs: IDs in, a service call, a short result for arq's log."""

from __future__ import annotations

from typing import Any

from arq import Retry

from pipegraph.promotions.execution import process_target
from pipegraph.promotions.reconciler import reconcile
from pipegraph.releases.execution import EarlierReleasePending, run_release
from pipegraph.runtime import Runtime

# Waiting on an earlier release of the same app: try again a little later instead of holding a job slot.
EARLIER_RELEASE_RETRY_SECONDS = 5


async def promote_target(ctx: dict[str, Any], target_id: int) -> str:
    runtime: Runtime = ctx["runtime"]
    try:
        target = await process_target(target_id, runtime)
    except EarlierReleasePending:
        raise Retry(defer=EARLIER_RELEASE_RETRY_SECONDS) from None
    return f"target {target_id}: {target.status.value if target else 'held by another worker or done'}"


async def run_release_job(ctx: dict[str, Any], release_id: int) -> str:
    runtime: Runtime = ctx["runtime"]
    try:
        release = await run_release(release_id, runtime)
    except EarlierReleasePending:
        raise Retry(defer=EARLIER_RELEASE_RETRY_SECONDS) from None
    return f"release {release_id}: {release.status.value if release else 'gone'}"


async def reconcile_lost_jobs(ctx: dict[str, Any]) -> int:
    runtime: Runtime = ctx["runtime"]
    return await reconcile(ctx["redis"], release_phase_timeout=runtime.settings.release_phase_timeout)
