from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from pipegraph.access.checks import authorized_pipeline
from pipegraph.access.rules import EphemeralAction
from pipegraph.api.context import Info
from pipegraph.api.mutations import Payload, mutation
from pipegraph.ci import service
from pipegraph.ci.commits import find_commit
from pipegraph.ci.models import TestRun
from pipegraph.ci.types import PipelineCiType, TestRunType, sees_test_run
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.relay import NO_ROW_ID, db_id
from pipegraph.core.text import validate_text
from pipegraph.jobs.queue import Job
from pipegraph.pipelines.models import Pipeline
from pipegraph.pipelines.types import PipelineType


async def _ci_pipeline(info: Info, reference: str, operation: str, action: EphemeralAction) -> Pipeline:
    access = info.context.access

    async def may(pipeline: Pipeline) -> None:
        await service.require_ci(access, pipeline, action)

    return await authorized_pipeline(access, reference, operation, check=may)


@strawberry.input(description="Parameters for enableCi.")
class EnableCiInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    cancel_superseded_runs: bool | None = strawberry.field(
        default=None, description="Whether a newer push to a branch cancels its older runs (default: true)."
    )


@strawberry.input(description="Parameters for disableCi.")
class DisableCiInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")


@strawberry.type(description="The result of enableCi or disableCi.")
class CiPayload(Payload):
    pipeline: PipelineType | None = strawberry.field(default=None, description="The pipeline.")
    ci: PipelineCiType | None = strawberry.field(default=None, description="Its CI settings now.")


@strawberry.input(description="Parameters for createTestRun: a branch, or a commit, of the pipeline's repositories.")
class CreateTestRunInput:
    pipeline: str = strawberry.field(description="Pipeline name or global ID.")
    branch: str | None = strawberry.field(
        default=None,
        description="Test the commit this branch points at; with `commit`, the branch the run is recorded on (as "
        "Heroku's ci:run records the branch checked out), else a branch holding the commit.",
    )
    commit: str | None = strawberry.field(default=None, description="Test this commit (a full or abbreviated sha).")


@strawberry.type(description="The result of createTestRun.")
class CreateTestRunPayload(Payload):
    test_run: TestRunType | None = strawberry.field(default=None, description="The new run, PENDING.")


@strawberry.input(description="Parameters for cancelTestRun.")
class CancelTestRunInput:
    id: relay.GlobalID = strawberry.field(description="The test run's global ID.")


@strawberry.type(description="The result of cancelTestRun.")
class CancelTestRunPayload(Payload):
    test_run: TestRunType | None = strawberry.field(default=None, description="The run, CANCELLED.")


@strawberry.input(description="Parameters for rerunTestRun.")
class RerunTestRunInput:
    id: relay.GlobalID = strawberry.field(description="The global ID of the test run to run again.")


@strawberry.type(description="The result of rerunTestRun.")
class RerunTestRunPayload(Payload):
    test_run: TestRunType | None = strawberry.field(
        default=None, description="The new run, PENDING: the earlier run's commit, on its branch."
    )


async def _run_allowing(info: Info, id: relay.GlobalID, action: EphemeralAction) -> tuple[TestRun, Pipeline]:
    """The run and its pipeline, where the viewer sees the run and may do `action` in its pipeline."""
    key = db_id(id.node_id) if id.type_name == "TestRun" else NO_ROW_ID
    run = await TestRun.get_or_none(id=key) if key != NO_ROW_ID else None
    if run is None or not await sees_test_run(info, run):
        raise NotFound("test run", id, field="id")
    pipeline = await Pipeline.get(id=run.pipeline_id)
    await service.require_ci(info.context.access, pipeline, action, field="id")
    return run, pipeline


async def _started(info: Info, run: TestRun, superseded: list[TestRun], jobs: list[Job]) -> TestRunType:
    """The new run's jobs enqueued (after commit), and it and the runs it superseded announced."""
    await info.context.enqueue(jobs)
    redis = info.context.streams.redis if info.context.streams else None
    for changed in [*superseded, run]:
        await service.announce(redis, changed)
    return TestRunType.from_model(run)


@strawberry.type
class CiMutations:
    @mutation(description="Test every push to the pipeline's repositories (Heroku's `Enable CI`: manage only).")
    async def enable_ci(
        self, info: Info, input: Annotated[EnableCiInput, strawberry.argument(description="Parameters for enableCi.")]
    ) -> CiPayload:
        pipeline = await _ci_pipeline(info, input.pipeline, "enableCi", EphemeralAction.ENABLE_CI)
        row = await service.set_ci(pipeline, enabled=True, cancel_superseded=input.cancel_superseded_runs)
        return CiPayload(pipeline=PipelineType.from_model(pipeline), ci=PipelineCiType.from_model(row))

    @mutation(description="Stop testing pushes; runs already started go on (manage only).")
    async def disable_ci(
        self,
        info: Info,
        input: Annotated[DisableCiInput, strawberry.argument(description="Parameters for disableCi.")],
    ) -> CiPayload:
        pipeline = await _ci_pipeline(info, input.pipeline, "disableCi", EphemeralAction.ENABLE_CI)
        row = await service.set_ci(pipeline, enabled=False)
        return CiPayload(pipeline=PipelineType.from_model(pipeline), ci=PipelineCiType.from_model(row))

    @mutation(description="Test a branch or a commit now; answers at once, PENDING.")
    async def create_test_run(
        self,
        info: Info,
        input: Annotated[CreateTestRunInput, strawberry.argument(description="Parameters for createTestRun.")],
    ) -> CreateTestRunPayload:
        pipeline = await _ci_pipeline(info, input.pipeline, "createTestRun", EphemeralAction.CREATE_CI_APPS)
        if input.branch is None and input.commit is None:
            raise DomainError(ErrorCode.INVALID, "name a branch or a commit to test", field="branch")
        branch = validate_text(input.branch, what="branch", field="branch", max_length=255) if input.branch else None
        commit = validate_text(input.commit, what="commit", field="commit", max_length=64) if input.commit else None
        await service.require_ci_on(pipeline)
        found = await find_commit(info.context.settings, pipeline, branch=branch, sha=commit)
        if found is None:
            what = f"commit {commit}" if commit else f"branch {branch}"
            raise DomainError(
                ErrorCode.COMMIT_NOT_FOUND,
                f"no repository of pipeline {pipeline.name} has {what}: push it to one of its apps first",
                field="commit" if commit else "branch",
            )
        started = await service.start_test_run(
            pipeline=pipeline,
            commit=found.commit,
            source_app=found.app,
            source=None,
            actor=info.context.viewer,
            repository=found.repository,
        )
        return CreateTestRunPayload(test_run=await _started(info, *started))

    @mutation(
        description="Test an earlier run's commit again, recorded on the same branch; answers at once, PENDING "
        "(Heroku's rerun: who may start runs may)."
    )
    async def rerun_test_run(
        self,
        info: Info,
        input: Annotated[RerunTestRunInput, strawberry.argument(description="Parameters for rerunTestRun.")],
    ) -> RerunTestRunPayload:
        earlier, pipeline = await _run_allowing(info, input.id, EphemeralAction.CREATE_CI_APPS)
        started = await service.rerun_test_run(earlier, pipeline, actor=info.context.viewer)
        return RerunTestRunPayload(test_run=await _started(info, *started))

    @mutation(description="Stop a test run: its processes are killed (Heroku's `Cancel CI runs`: manage only).")
    async def cancel_test_run(
        self,
        info: Info,
        input: Annotated[CancelTestRunInput, strawberry.argument(description="Parameters for cancelTestRun.")],
    ) -> CancelTestRunPayload:
        run, _ = await _run_allowing(info, input.id, EphemeralAction.CANCEL_CI_RUNS)
        run, jobs = await service.cancel_test_run(run, by=info.context.viewer)
        await info.context.enqueue(jobs)
        await service.announce(info.context.streams.redis if info.context.streams else None, run)
        return CancelTestRunPayload(test_run=TestRunType.from_model(run))
