"""The real git client against a live server: a work tree, commits, pushes and clones over HTTP."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from pipegraph.sandbox.host import WARNING


@dataclass
class GitResult:
    code: int
    output: str

    @property
    def remote_lines(self) -> list[str]:
        """What the server printed into the push, without git's `remote: ` prefix."""
        return [
            line.removeprefix("remote: ").rstrip()
            for line in self.output.splitlines()
            if line.startswith("remote:") and WARNING not in line  # said only where bubblewrap cannot run
        ]


def git_env(home: Path) -> dict[str, str]:
    """Git as a newcomer runs it: no system or user configuration, no prompts, a fixed author."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }


async def git(*args: str, cwd: Path) -> GitResult:
    """Run git without blocking the event loop that serves the API it talks to."""
    env = git_env(cwd)
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return GitResult(process.returncode, output.decode(errors="replace"))


async def work_tree(path: Path, files: dict[str, str], *, message: str = "First version") -> Path:
    """A repository on branch main with `files` committed."""
    path.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a test's local folder
    assert (await git("init", "--quiet", "--initial-branch=main", cwd=path)).code == 0
    await commit(path, files, message=message)
    return path


async def commit(path: Path, files: dict[str, str], *, message: str) -> str:
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        if name.startswith("bin/"):
            target.chmod(0o755)
    assert (await git("add", "-A", cwd=path)).code == 0
    done = await git("commit", "--quiet", "-m", message, cwd=path)
    assert done.code == 0, done.output
    return (await git("rev-parse", "HEAD", cwd=path)).output.strip()


def remote_url(host: str, app: str, token: str | None) -> str:
    credentials = f"git:{token}@" if token else ""
    return f"http://{credentials}{host}/git/{app}.git"
