from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from pipegraph.accounts.types import UserType, visible_user
from pipegraph.api.context import Info
from pipegraph.api.nodes import Keyset, keyset_page, resolve_visible
from pipegraph.apps.loaders import app_by_id
from pipegraph.ci.loaders import nodes_by_run, test_run_by_id, test_run_by_number, test_run_pages
from pipegraph.ci.models import PipelineCi, TestNode, TestRun, TestRunStatus
from pipegraph.core.enums import describe_values
from pipegraph.core.loaders import PageKey, prime_all
from pipegraph.pipelines.access_tab import pipeline_permissions
from pipegraph.pipelines.loaders import pipeline_by_id

if TYPE_CHECKING:
    from pipegraph.apps.types import AppType
    from pipegraph.pipelines.types import PipelineType

TestRunStatusEnum = strawberry.enum(
    TestRunStatus, name="TestRunStatus", description="How a test run (or one of its nodes) stands: Heroku's enum."
)
TEST_RUNS = Keyset.by_number("test-run")


async def sees_test_run(info: Info, run: TestRun) -> bool:
    """A test run shows to whoever sees its pipeline, and to whoever holds any pipeline-level permission on it (the
    seed's "View tests": view, deploy, operate or manage)."""
    from pipegraph.pipelines.types import sees_pipeline_of

    if await sees_pipeline_of(info, run):
        return True
    pipeline = await info.context.loaders[pipeline_by_id].load(run.pipeline_id)
    return pipeline is not None and bool(await pipeline_permissions(pipeline, info.context.viewer))


async def _seen_test_runs(info: Info, runs: list[TestRun]) -> list[int]:
    return [run.id for run in runs if await sees_test_run(info, run)]


@strawberry.type(name="PipelineCi", description="A pipeline's CI: whether its pushes are tested, and how.")
class PipelineCiType:
    enabled: bool = strawberry.field(description="Whether every push to the pipeline's repositories starts a run.")
    cancel_superseded_runs: bool = strawberry.field(
        description="Whether a newer push to a branch cancels that branch's runs still going."
    )

    @classmethod
    def from_model(cls, row: PipelineCi | None) -> PipelineCiType:
        if row is None:
            return cls(enabled=False, cancel_superseded_runs=True)
        return cls(enabled=row.enabled, cancel_superseded_runs=row.cancel_superseded)


@strawberry.type(name="TestNode", description="One worker's share of a test run (runs have one node for now).")
class TestNodeType:
    index: int = strawberry.field(description="0 for the first node (CI_NODE_INDEX).")
    status: TestRunStatus = strawberry.field(description="How this node stands.")
    exit_code: int | None = strawberry.field(description="The exit status of scripts.test, once it ran.")
    message: str | None = strawberry.field(description="Why it errored, failed or was cancelled.")
    output: str = strawberry.field(description="Its output; complete once it ended (testRunLog follows it live).")

    @classmethod
    def from_model(cls, node: TestNode) -> TestNodeType:
        return cls(
            index=node.index, status=node.status, exit_code=node.exit_code, message=node.message, output=node.output
        )


@strawberry.type(name="TestLogLine", description="One line of a test run's output.")
class TestLogLineType:
    number: int = strawberry.field(description="1 for the first line.")
    text: str = strawberry.field(description="The line, without its newline.")


@strawberry.type(name="TestRun", description="A commit tested by the pipeline's CI, numbered per pipeline.")
class TestRunType(relay.Node):
    id: relay.NodeID[int]
    number: int = strawberry.field(description="1, 2, 3… per pipeline, with no gaps.")
    commit_sha: str = strawberry.field(description="The commit tested.")
    commit_branch: str = strawberry.field(description="The branch it was pushed to (or named by createTestRun).")
    commit_message: str | None = strawberry.field(description="The commit's subject line.")
    status: TestRunStatus = strawberry.field(description="How the run stands: its nodes' summary.")
    message: str | None = strawberry.field(description="Why it errored, failed or was cancelled.")
    app_name: str | None = strawberry.field(description="The name of its CI app (which goes once the run ended).")
    created_at: datetime = strawberry.field(description="When the run was asked for.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    started_at: datetime | None = strawberry.field(description="When a worker took it.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    model: strawberry.Private[TestRun]

    @classmethod
    def from_model(cls, run: TestRun) -> TestRunType:
        return cls(
            id=run.id,
            number=run.number,
            commit_sha=run.commit_sha,
            commit_branch=run.commit_branch,
            commit_message=run.commit_message,
            status=run.status,
            message=run.message,
            app_name=run.app_name,
            created_at=run.created_at,
            updated_at=run.updated_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            model=run,
        )

    resolve_nodes = resolve_visible(test_run_by_id, _seen_test_runs)

    @strawberry.field(
        description="Who started it: the pusher, or who asked for it (null when a GitHub push did: see githubActor)."
    )
    async def actor(self, info: Info) -> UserType | None:
        # One who sees the run through pipeline access alone may not see its pipeline, where its actor is met.
        return await visible_user(info, self.model.actor_id)

    @strawberry.field(
        description="The GitHub login of who pushed, when a push to the connected repository started it (GitHub's "
        "accounts are not pipegraph users: actor is null then); null otherwise."
    )
    def github_actor(self) -> str | None:
        return self.model.actor_login

    @strawberry.field(description="Its nodes, by index.")
    async def nodes(self, info: Info) -> list[TestNodeType]:
        return [TestNodeType.from_model(node) for node in await info.context.loaders[nodes_by_run].load(self.id)]

    @strawberry.field(description="Its output (node 0's); complete once it ended. testRunLog follows it live.")
    async def output(self, info: Info) -> str:
        nodes = await info.context.loaders[nodes_by_run].load(self.id)
        return nodes[0].output if nodes else ""

    @strawberry.field(description="The pipeline it belongs to.")
    async def pipeline(self, info: Info) -> Annotated[PipelineType, strawberry.lazy("pipegraph.pipelines.types")]:
        from pipegraph.pipelines.types import PipelineType

        pipeline = await info.context.loaders[pipeline_by_id].load(self.model.pipeline_id)
        assert pipeline is not None  # ON DELETE CASCADE
        return PipelineType.from_model(pipeline)

    @strawberry.field(description="Its CI app while the run goes on, when the viewer sees it.")
    async def app(self, info: Info) -> Annotated[AppType, strawberry.lazy("pipegraph.apps.types")] | None:
        from pipegraph.apps.types import AppType

        if self.model.app_id is None:
            return None
        app = await info.context.loaders[app_by_id].load(self.model.app_id)
        if app is None or not await info.context.access.can_view_app(app):
            return None
        return AppType.from_model(app)


async def pipeline_test_runs(
    info: Info, pipeline_id: int, first: int | None, after: str | None
) -> relay.Connection[TestRunType]:
    async def fetch(limit: int, below: int | None) -> list[TestRun]:
        # Through a loader: the runs of every pipeline of a response come in one statement.
        rows = await info.context.loaders[test_run_pages].load(PageKey(pipeline_id, limit, below))
        prime_all(info.context.loaders[test_run_by_id], rows, key=lambda run: run.id)
        return rows

    return await keyset_page(
        TEST_RUNS, first=first, after=after, fetch=fetch, key=lambda run: run.number, node_of=TestRunType.from_model
    )


async def pipeline_test_run(info: Info, pipeline_id: int, number: int) -> TestRunType | None:
    run = await info.context.loaders[test_run_by_number].load((pipeline_id, number))
    return TestRunType.from_model(run) if run else None


# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    TestRunStatus,
    {
        TestRunStatus.PENDING: "Waiting for a worker.",
        TestRunStatus.CREATING: "A worker took it: fetching the commit's tree, making the CI app.",
        TestRunStatus.BUILDING: "The buildpacks, then scripts.test-setup.",
        TestRunStatus.RUNNING: "scripts.test is running.",
        TestRunStatus.SUCCEEDED: "The tests passed.",
        TestRunStatus.FAILED: "scripts.test exited with a non-zero status.",
        TestRunStatus.ERRORED: "The tests could not run: the build, test-setup, the time limit or a lost worker.",
        TestRunStatus.CANCELLED: "Cancelled by a person, or superseded by a newer push to its branch.",
    },
)
