"""Telling the world how a test run stands: the seam GitHub's commit statuses plug into.

Every change of a run's status enqueues one report job (service.report_job); the job reads the run as it then is and
hands it to the pipeline's `StatusReporter`. A pipeline with no reporter (not connected to GitHub) is told nothing.

GITHUB SEAM: `reporter_for` returns the GitHub sync's reporter for a connected pipeline, which posts
`POST /repos/{o}/{r}/statuses/{sha}` with context `pipegraph/ci`, the `target_url` below and the state of
`GITHUB_STATES`, so branch protection and automatic deploys' `waitForCi` see pipegraph's own CI.
"""

from __future__ import annotations

from typing import Protocol

from pipegraph.ci.models import TestRun, TestRunStatus
from pipegraph.pipelines.models import Pipeline
from pipegraph.settings import Settings

CONTEXT = "pipegraph/ci"

# The research's mapping (Heroku's own is not documented): going is pending, the outcomes as they read.
GITHUB_STATES = {
    TestRunStatus.PENDING: "pending",
    TestRunStatus.CREATING: "pending",
    TestRunStatus.BUILDING: "pending",
    TestRunStatus.RUNNING: "pending",
    TestRunStatus.SUCCEEDED: "success",
    TestRunStatus.FAILED: "failure",
    TestRunStatus.ERRORED: "error",
    TestRunStatus.CANCELLED: "error",
}

DESCRIPTIONS = {
    TestRunStatus.PENDING: "waiting for a worker",
    TestRunStatus.CREATING: "preparing",
    TestRunStatus.BUILDING: "building and running test-setup",
    TestRunStatus.RUNNING: "running the tests",
    TestRunStatus.SUCCEEDED: "the tests passed",
    TestRunStatus.FAILED: "the tests failed",
    TestRunStatus.ERRORED: "the tests could not run",
    TestRunStatus.CANCELLED: "cancelled",
}


class StatusReporter(Protocol):
    async def report(self, run: TestRun, *, state: str, description: str, target_url: str) -> None: ...


def run_url(settings: Settings, pipeline: Pipeline, run: TestRun) -> str:
    """Where a person sees the run (the dashboard's pipeline page, the run's number in the address)."""
    return f"{settings.public_url}/pipelines/{pipeline.name}/tests/{run.number}"


async def reporter_for(pipeline: Pipeline, settings: Settings) -> StatusReporter | None:
    """GITHUB SEAM: the GitHub commit-status reporter of a connected pipeline; None until GitHub sync lands."""
    return None


async def report_test_run(run_id: int, settings: Settings) -> str:
    run = await TestRun.get_or_none(id=run_id)
    if run is None:
        return "gone"
    pipeline = await Pipeline.get(id=run.pipeline_id)
    reporter = await reporter_for(pipeline, settings)
    if reporter is None:
        return "no reporter"
    await reporter.report(
        run,
        state=GITHUB_STATES[run.status],
        description=DESCRIPTIONS[run.status],
        target_url=run_url(settings, pipeline, run),
    )
    return GITHUB_STATES[run.status]
