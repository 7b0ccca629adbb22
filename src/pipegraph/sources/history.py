"""What differs between two apps' deployed code, answered from the apps' own git repositories (no GitHub needed).

Each app's deployed commit is its current release's slug commit. A promoted app never received a push, so its
commit lives in the repository of the app it was promoted from: git runs in one app's repository with the other's
objects borrowed as alternates, so both histories are one graph without copying anything.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.releases.models import Release
from pipegraph.slugs.models import Slug
from pipegraph.sources.repos import git_env, repo_path

SHA = re.compile(r"^[0-9a-f]{7,64}$")
GIT_TIMEOUT = 30
MAX_COMMITS = 100


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    author: str
    date: datetime


@dataclass(frozen=True)
class History:
    """Two deployed commits and the repositories that hold them."""

    repo: Path
    alternates: tuple[Path, ...]
    commit: str
    other_commit: str

    async def _git(self, *args: str) -> str:
        env = git_env(GIT_ALTERNATE_OBJECT_DIRECTORIES=":".join(str(path / "objects") for path in self.alternates))
        process = await asyncio.create_subprocess_exec(
            "git", "--git-dir", str(self.repo), *args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout=GIT_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise _error("reading the git history took too long") from None
        if process.returncode != 0:
            raise _error(f"git could not compare the commits: {err.decode(errors='replace').strip()}")
        return out.decode(errors="replace")

    async def ahead_behind(self) -> tuple[int, int]:
        out = await self._git("rev-list", "--left-right", "--count", f"{self.commit}...{self.other_commit}")
        ahead, behind = out.split()
        return int(ahead), int(behind)

    async def commits(self, first: int) -> list[Commit]:
        """The commits deployed here and not there, newest first."""
        if first <= 0:
            return []
        out = await self._git(
            "log", f"--max-count={min(first, MAX_COMMITS)}", "--format=%H%x00%s%x00%an <%ae>%x00%cI%x00",
            f"{self.other_commit}..{self.commit}",
        )  # fmt: skip
        fields = out.split("\x00")
        return [
            Commit(sha=sha.strip(), message=message, author=author, date=datetime.fromisoformat(date))
            for sha, message, author, date in zip(fields[0::4], fields[1::4], fields[2::4], fields[3::4], strict=False)
            if sha.strip()
        ]


def _error(message: str) -> DomainError:
    return DomainError(ErrorCode.NO_GIT_HISTORY, message, field="with")


async def deployed_commit(app: App) -> str:
    release = await Release.get_or_none(app_id=app.id, is_current=True)
    slug = await Slug.get_or_none(id=release.slug_id) if release else None
    commit = (slug.commit or "").lower() if slug else ""
    if not SHA.fullmatch(commit):
        raise _error(f"app {app.name} has no current release built from a git commit")
    return commit


async def _holds(repo: Path, alternates: tuple[Path, ...], commit: str) -> bool:
    history = History(repo, alternates, commit, commit)
    try:
        await history._git("cat-file", "-e", f"{commit}^{{commit}}")
    except DomainError:
        return False
    return True


async def compare(repo_root: Path, app: App, other: App) -> History:
    """The two apps' deployed commits in one git graph, or a DomainError saying why they cannot be compared."""
    commit, other_commit = await deployed_commit(app), await deployed_commit(other)
    repos = tuple(path for path in (repo_path(repo_root, app.id), repo_path(repo_root, other.id)) if path.exists())
    if not repos:
        raise _error(f"neither {app.name} nor {other.name} has a git repository: push to one of them first")
    repo, alternates = repos[0], repos[1:]
    for name, sha in ((app.name, commit), (other.name, other_commit)):
        if not await _holds(repo, alternates, sha):
            raise _error(f"commit {sha[:8]} deployed on {name} is not in the git history pipegraph holds")
    return History(repo, alternates, commit, other_commit)
