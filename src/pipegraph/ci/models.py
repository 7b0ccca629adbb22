"""Pipeline CI: whether a pipeline tests its pushes, its numbered test runs, and the nodes that run them.

A run is what people see (number, commit, who, status); a node is one worker's share of it (status, exit code,
output, attempts, lease). Runs have one node today; `formation.test.quantity` (Heroku's parallel test runs) will give
a run more, each its own job, with `CI_NODE_INDEX` and `CI_NODE_TOTAL`: the run's status is always its nodes' summary.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.pipelines.models import Pipeline
from pipegraph.sources.models import Source


class TestRunStatus(StrEnum):
    """Heroku's test-run enum, in the order a run goes through it."""

    __test__ = False  # not a pytest class, whatever its name

    PENDING = "pending"
    CREATING = "creating"  # a worker took it: fetching the commit's tree, making the CI app
    BUILDING = "building"  # the buildpacks, then scripts.test-setup
    RUNNING = "running"  # scripts.test
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the tests ran and did not pass
    ERRORED = "errored"  # the tests could not run: build, test-setup, time limit, a lost worker
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({TestRunStatus.SUCCEEDED, TestRunStatus.FAILED, TestRunStatus.ERRORED, TestRunStatus.CANCELLED})
UNFINISHED = [status for status in TestRunStatus if status not in TERMINAL]


class PipelineCi(Model):
    """A pipeline's CI switch (Heroku's pipeline-repository `ci`), and how it keeps up with pushes."""

    id = fields.BigIntField(primary_key=True)
    pipeline: fields.OneToOneRelation[Pipeline] = fields.OneToOneField(
        "pipegraph.Pipeline", related_name="ci", on_delete=fields.CASCADE
    )
    enabled = fields.BooleanField(default=False)
    # A newer push to a branch cancels that branch's runs still going.
    cancel_superseded = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    pipeline_id: int

    class Meta:
        table = "pipeline_ci"


class TestRun(Model):
    """One commit tested: numbered 1, 2, 3… per pipeline, with no gaps."""

    __test__ = False

    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="test_runs", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    commit_sha = fields.CharField(max_length=64)
    commit_branch = fields.CharField(max_length=255)
    commit_message = fields.TextField(null=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name="test_runs", null=True, on_delete=fields.SET_NULL
    )
    # Who pushed, by their GitHub login, when a push to the connected repository started it: GitHub's people are
    # no pipegraph users, and none is made up for them (actor stays null).
    actor_login = fields.CharField(max_length=100, null=True)
    status = fields.CharEnumField(TestRunStatus, max_length=16, default=TestRunStatus.PENDING)
    message = fields.TextField(null=True)  # why it errored or was cancelled
    # The pipeline app whose repository gave the commit and whose buildpacks build it.
    source_app: fields.ForeignKeyNullableRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="test_runs", null=True, on_delete=fields.SET_NULL
    )
    # The commit's tree, once stored (a push stores it at once; otherwise the run's first step fetches it).
    source: fields.ForeignKeyNullableRelation[Source] = fields.ForeignKeyField(
        "pipegraph.Source", related_name="test_runs", null=True, on_delete=fields.SET_NULL
    )
    # The GitHub repository ("owner/name") the commit came from, when it did: its tree is fetched from there, and
    # the run's statuses are posted to that commit.
    repository = fields.CharField(max_length=200, null=True)
    # The CI app (an ephemeral app in the TEST stage) while the run goes on; its name stays.
    app: fields.ForeignKeyNullableRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="ci_runs", null=True, on_delete=fields.SET_NULL
    )
    app_name = fields.CharField(max_length=30, null=True)
    node_count = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    pipeline_id: int
    actor_id: int | None
    source_app_id: int | None
    source_id: int | None
    app_id: int | None

    class Meta:
        table = "test_runs"
        unique_together = (("pipeline", "number"),)


class TestNode(Model):
    """One worker's share of a run, worked by one arq job at a time (a lease, like a build)."""

    __test__ = False

    id = fields.BigIntField(primary_key=True)
    test_run: fields.ForeignKeyRelation[TestRun] = fields.ForeignKeyField(
        "pipegraph.TestRun", related_name="nodes", on_delete=fields.CASCADE
    )
    index = fields.IntField(default=0)
    status = fields.CharEnumField(TestRunStatus, max_length=16, default=TestRunStatus.PENDING)
    exit_code = fields.IntField(null=True)  # of scripts.test, once it ran
    message = fields.TextField(null=True)
    output = fields.TextField(default="")  # every line, kept once the node ends
    attempts = fields.IntField(default=0)
    lease_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    test_run_id: int

    class Meta:
        table = "test_nodes"
        unique_together = (("test_run", "index"),)
