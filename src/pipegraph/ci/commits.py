"""Where a test run's commit comes from: the seam GitHub plugs into.

A `CommitSource` names a commit (by branch or sha) and hands over its tree as a tar.gz. Without GitHub the commits are
those pushed to the pipeline's apps (`/git/<app>.git`, the bare repositories of `sources/repos.py`); a pipeline
connected to GitHub gets GitHub's (the GitHub sync's client: the tarball of a commit), behind the same protocol.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipegraph.apps.models import App
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
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
        """The commit a branch points at, or a commit named by sha (with a branch holding it); None if unknown."""
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


async def pipeline_repositories(repo_root: Path, pipeline: Pipeline) -> list[AppRepository]:
    """The pipeline's own apps' repositories (ephemeral ones hold no pushes), development first."""
    couplings = await PipelineCoupling.filter(pipeline_id=pipeline.id).select_related("app")
    apps = [c for c in couplings if c.stage in _STAGE_ORDER and not c.app.ephemeral]
    apps.sort(key=lambda c: (_STAGE_ORDER.index(Stage(c.stage)), c.app.name))
    return [AppRepository(repo_root, coupling.app) for coupling in apps]


async def find_commit(
    repo_root: Path, pipeline: Pipeline, *, branch: str | None, sha: str | None
) -> tuple[Commit, App] | None:
    """The commit in the first of the pipeline's repositories that has it, and that repository's app.

    GITHUB SEAM: a pipeline connected to a GitHub repository resolves through the GitHub client instead (its
    branches and commits), with the coupled app linked to that repository as the app whose buildpacks build it.
    """
    for repository in await pipeline_repositories(repo_root, pipeline):
        commit = await repository.resolve(branch=branch, sha=sha)
        if commit is not None:
            return commit, repository.app
    return None


def commit_source_for(repo_root: Path, app: App) -> CommitSource:
    """Where a run's tree is fetched from. GITHUB SEAM: a GitHub-started run fetches GitHub's tarball instead."""
    return AppRepository(repo_root, app)
