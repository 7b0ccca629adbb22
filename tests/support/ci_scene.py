"""Pipeline CI scenes: a pipeline with CI on, a local repository with a real app.json, pushes, and waiting for runs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pipegraph.ci.models import TestRun, TestRunStatus
from pipegraph.sources.repos import ensure_repo, git_env
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, create_pipeline
from tests.support.git_scene import commit, git, remote_url, work_tree
from tests.support.servers import until

ENABLE_CI = """
mutation($input: EnableCiInput!) {
  enableCi(input: $input) { ci { enabled cancelSupersededRuns } userErrors { field message code } }
}"""

DISABLE_CI = """
mutation($input: DisableCiInput!) {
  disableCi(input: $input) { ci { enabled } userErrors { field message code } }
}"""

CREATE_TEST_RUN = """
mutation($input: CreateTestRunInput!) {
  createTestRun(input: $input) { testRun { id number status commitSha commitBranch } userErrors { field message code } }
}"""

CANCEL_TEST_RUN = """
mutation($input: CancelTestRunInput!) {
  cancelTestRun(input: $input) { testRun { number status message } userErrors { field message code } }
}"""

SET_STAGE_CONFIG_VARS = """
mutation($input: SetStageConfigVarsInput!) {
  setStageConfigVars(input: $input) { vars userErrors { field message code } }
}"""

TEST_RUNS = """
query($pipeline: String!) {
  pipeline(name: $pipeline) {
    ci { enabled }
    testRuns(first: 10) {
      edges { node {
        id number status message commitSha commitBranch commitMessage appName output
        actor { email } startedAt finishedAt nodes { index status exitCode }
      } }
    }
  }
}"""

TEST_LOG = """
subscription($id: ID!) { testRunLog(id: $id) { number text } }"""


def app_json(*, setup: str | None = "echo setting up for $RAILS_ENV", test: str = "./bin/test") -> str:
    scripts = {"test": test} | ({"test-setup": setup} if setup else {})
    return json.dumps(
        {
            "name": "shop",
            "env": {"RAILS_ENV": "production", "GREETING": {"value": "hello", "required": False}},
            "environments": {"test": {"env": {"RAILS_ENV": "test"}, "scripts": scripts}},
        }
    )


def shop_tree(*, test_body: str = 'echo "tests pass"', **scripts: Any) -> dict[str, str]:
    """A Procfile app (built by the built-in procfile buildpack) with an app.json test environment and bin/test."""
    return {
        "Procfile": "web: ./bin/web\n",
        "bin/web": "#!/bin/sh\necho serving\n",
        "bin/test": f"#!/bin/sh\n{test_body}\n",
        "app.json": app_json(**scripts),
    }


async def ci_pipeline(gql: GraphQLClient, *, pipeline: str = "shop", app: str = "shop-staging") -> None:
    """A pipeline with one staging app, and CI on."""
    await create_app(gql, name=app)
    await create_pipeline(gql, name=pipeline, app=app, stage="STAGING")
    enabled = await gql(ENABLE_CI, {"input": {"pipeline": pipeline}})
    assert enabled["enableCi"]["userErrors"] == [], enabled


async def push(host: str, token: str, tree: Path, *, app: str = "shop-staging", ref: str = "main") -> str:
    """Push the work tree's HEAD (the build and its release phase go with it) and return the pushed sha."""
    pushed = await git("push", remote_url(host, app, token), ref, cwd=tree)
    assert pushed.code == 0, pushed.output
    return (await git("rev-parse", "HEAD", cwd=tree)).output.strip()


async def new_tree(path: Path, files: dict[str, str], *, message: str = "First version") -> Path:
    return await work_tree(path, files, message=message)


async def change(tree: Path, files: dict[str, str], *, message: str) -> str:
    return await commit(tree, files, message=message)


async def run_reaches(number: int, *statuses: TestRunStatus, pipeline: str = "shop", seconds: float = 60) -> TestRun:
    """Wait until run `number` is in one of `statuses` (a terminal one by default)."""
    wanted = set(statuses) or {s for s in TestRunStatus if s.terminal}

    async def reached() -> bool:
        run = await TestRun.get_or_none(pipeline__name=pipeline, number=number)
        return run is not None and run.status in wanted

    await until(reached, f"test run #{number} {', '.join(sorted(wanted))}", seconds=seconds)
    return await TestRun.get(pipeline__name=pipeline, number=number)


async def commit_in_repository(repo_root: Path, app_id: int, *, branch: str = "main") -> str:
    """A commit (of an empty tree) on `branch` of the app's bare repository, written with git's plumbing as a push
    would leave it, without a server."""
    repo = await asyncio.to_thread(ensure_repo, repo_root, app_id)
    env = {**git_env(), "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}

    async def run(*args: str, stdin: bytes = b"") -> str:
        process = await asyncio.create_subprocess_exec(
            "git", *args, cwd=repo, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate(stdin)
        assert process.returncode == 0, args
        return out.decode().strip()

    tree = await run("mktree")
    sha = await run("commit-tree", tree, "-m", "First version")
    await run("update-ref", f"refs/heads/{branch}", sha)
    return sha


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]
