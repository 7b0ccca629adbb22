"""Where a test run's commit comes from: the pipeline's GitHub repository when it is connected to one (its branches
and GitHub's tarball of a commit), else the commits pushed to the pipeline's apps (`/git/<app>.git`, the bare
repositories of `sources/repos.py`).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipegraph.apps.models import App
from pipegraph.github.client import GitHubClient, fetch_commit_tarball
from pipegraph.github.service import connection_of
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
from pipegraph.settings import Settings
from pipegraph.sources.repos import git_env, repo_path

_SHA = re.compile(r"[0-9a-f]{4,64}")
# Apps that give a pipeline's commits, in this order: where the newest code usually is first.
_STAGE_ORDER = [Stage.DEVELOPMENT, Stage.STAGING, Stage.PRODUCTION, Stage.REVIEW]


@dataclass(frozen=True)
class Commit:
    sha: str
    branch: str
    message: str | None


class CommitSource(Protocol):
    async def resolve(self, *, branch: str | None, sha: str | None) -> Commit | None:
        """The commit a branch points at, or a commit named by sha (recorded on `branch` when given, else on a branch
        holding it); None if unknown."""
        ...

    async def archive(self, sha: str, into: Path) -> Path:
        """A tar.gz of the commit's tree, written under `into`."""
        ...


async def _git(repo: Path, *args: str) -> tuple[int, bytes]:
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=repo,
        env=git_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output


class AppRepository:
    """The commits pushed to one app of this server (its bare repository)."""

    def __init__(self, repo_root: Path, app: App) -> None:
        self.app = app
        self.path = repo_path(repo_root, app.id)

    async def resolve(self, *, branch: str | None, sha: str | None) -> Commit | None:
        if not self.path.is_dir():
            return None
        if sha is not None:
            if not _SHA.fullmatch(sha):
                return None
            code, out = await _git(self.path, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}")
            if code != 0:
                return None
            full = out.decode().strip()
            if branch is None:
                code, out = await _git(self.path, "branch", "--format=%(refname:short)", "--contains", full)
                branches = out.decode().split()
                branch = branches[0] if branches else full[:7]
        else:
            assert branch is not None
            if branch.startswith("-") or ".." in branch:
                return None
            code, out = await _git(self.path, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
            if code != 0:
                return None
            full = out.decode().strip()
        _, subject = await _git(self.path, "log", "-1", "--format=%s", full)
        return Commit(sha=full, branch=branch, message=subject.decode(errors="replace").strip() or None)

    async def archive(self, sha: str, into: Path) -> Path:
        target = into / "commit.tar.gz"
        code, data = await _git(self.path, "archive", "--format=tar.gz", sha)
        if code != 0:
            raise LookupError(f"commit {sha[:8]} is not in app {self.app.name}'s repository")
        await asyncio.to_thread(target.write_bytes, data)
        return target


async def pipeline_apps(pipeline: Pipeline) -> list[App]:
    """The pipeline's own apps (ephemeral ones hold no pushes), development first: where commits are looked for, and
    the first of them is the app whose buildpacks build a commit that came from GitHub."""
    couplings = await PipelineCoupling.filter(pipeline_id=pipeline.id).select_related("app")
    apps = [c for c in couplings if c.stage in _STAGE_ORDER and not c.app.ephemeral]
    apps.sort(key=lambda c: (_STAGE_ORDER.index(Stage(c.stage)), c.app.name))
    return [coupling.app for coupling in apps]


class GitHubRepository:
    """The commits of a connected GitHub repository, through the GitHub sync's client."""

    def __init__(self, settings: Settings, full_name: str) -> None:
        self.settings, self.full_name = settings, full_name

    async def resolve(self, *, branch: str | None, sha: str | None) -> Commit | None:
        async with GitHubClient.for_repository(self.settings.github, self.full_name) as github:
            found, subject = await github.branch_head(sha or branch or "")
        return Commit(sha=found, branch=branch or found[:7], message=subject or None)

    async def archive(self, sha: str, into: Path) -> Path:
        return await fetch_commit_tarball(
            self.settings.github, self.full_name, sha, into / "commit.tar.gz", max_bytes=self.settings.source_max_bytes
        )


@dataclass(frozen=True)
class FoundCommit:
    commit: Commit
    app: App | None  # whose repository (or, for GitHub, whose buildpacks) the run uses
    repository: str | None  # the GitHub repository, when it came from there


async def find_commit(
    settings: Settings, pipeline: Pipeline, *, branch: str | None, sha: str | None
) -> FoundCommit | None:
    """The commit in the pipeline's GitHub repository when it is connected to one (GitHubUnavailable when GitHub
    does not know it), else in the first of its apps' repositories that has it."""
    apps = await pipeline_apps(pipeline)
    connection = await connection_of(pipeline.id)
    if connection is not None:
        commit = await GitHubRepository(settings, connection.full_name).resolve(branch=branch, sha=sha)
        return FoundCommit(commit, apps[0] if apps else None, connection.full_name) if commit else None
    for app in apps:
        commit = await AppRepository(settings.repo_dir, app).resolve(branch=branch, sha=sha)
        if commit is not None:
            return FoundCommit(commit, app, None)
    return None


def commit_source(settings: Settings, *, repository: str | None, app: App) -> CommitSource:
    """Where a run's tree comes from: its GitHub repository, or the app's own."""
    if repository is not None:
        return GitHubRepository(settings, repository)
    return AppRepository(settings.repo_dir, app)
