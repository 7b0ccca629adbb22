"""Telling the world how a test run stands: a commit status on GitHub for a run of a GitHub commit.

Every change of a run's status enqueues one report job (service.report_job); the job reads the run as it then is and
hands it to the run's `StatusReporter`: for a commit of a connected GitHub repository, a commit status (context
`pipegraph/ci`, its state from `GITHUB_STATES`, a link to the run), so branch protection and automatic deploys'
`waitForCi` see pipegraph's own CI; a run of a commit pushed to an app's own repository has no one to tell. Reports
may run out of order: each posts the run's status as it then is, and posts again if it moved on meanwhile.
"""

from __future__ import annotations

from typing import Protocol

from pipegraph.ci.models import TestRun, TestRunStatus
from pipegraph.github.client import post_commit_status
from pipegraph.github.deploys import waiting_deploys
from pipegraph.jobs.queue import Job
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
    async def report(self, run: TestRun, *, state: str, description: str, target_url: str | None) -> None: ...


def run_url(settings: Settings, pipeline: Pipeline, run: TestRun) -> str | None:
    """Where a person sees the run (the dashboard's pipeline page, the run's number in the address); None when this
    server does not know its public address (PIPEGRAPH_PUBLIC_URL)."""
    if not settings.public_url:
        return None
    return f"{settings.public_url}/pipelines/{pipeline.name}/tests/{run.number}"


class GitHubStatuses:
    """Commit statuses on the run's GitHub repository."""

    def __init__(self, settings: Settings, full_name: str) -> None:
        self.settings, self.full_name = settings, full_name

    async def report(self, run: TestRun, *, state: str, description: str, target_url: str | None) -> None:
        await post_commit_status(
            self.settings.github,
            self.full_name,
            run.commit_sha,
            state=state,
            context=CONTEXT,
            description=f"#{run.number}: {description}",
            target_url=target_url,
        )


def reporter_for(run: TestRun, settings: Settings) -> StatusReporter | None:
    return GitHubStatuses(settings, run.repository) if run.repository else None


# A report that finds the run moved on while it posted posts again: at most this often, then the next report's turn.
MAX_POSTS = 3


async def report_test_run(run_id: int, settings: Settings) -> tuple[str, list[Job]]:
    """What was posted, and the jobs of deploys waiting for CI on the commit, once the run ended (GitHub would also
    tell them, by a `status` webhook, where one is set up)."""
    run = await TestRun.get_or_none(id=run_id)
    if run is None:
        return "gone", []
    reporter = reporter_for(run, settings)
    if reporter is None:
        return "no one to tell", []
    pipeline = await Pipeline.get(id=run.pipeline_id)
    for _ in range(MAX_POSTS):
        posted = run.status
        await reporter.report(
            run,
            state=GITHUB_STATES[posted],
            description=DESCRIPTIONS[posted],
            target_url=run_url(settings, pipeline, run),
        )
        run = await TestRun.get(id=run_id)
        if run.status == posted:
            break
    if not run.status.terminal or run.repository is None:
        return GITHUB_STATES[run.status], []
    return GITHUB_STATES[run.status], await waiting_deploys(run.repository, run.commit_sha)
