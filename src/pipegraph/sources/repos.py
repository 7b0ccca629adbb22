"""One bare git repository per app in the data folder, with pipegraph's pre-receive hook installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# The hook only hands over to Python: the push's settings arrive in its environment (see sources/push.py), so the
# same repository works under any API replica, whatever its paths.
PRE_RECEIVE = """#!/bin/sh
# Installed by pipegraph: builds the pushed commit and streams the build back into the push.
if [ -z "$PIPEGRAPH_PUSH_URL" ] || [ -z "$PIPEGRAPH_PYTHON" ] || [ -z "$PIPEGRAPH_HOOK" ]; then
    echo " !     Push through pipegraph's /git/<app>.git URL." >&2
    exit 1
fi
exec "$PIPEGRAPH_PYTHON" -I -S "$PIPEGRAPH_HOOK"
"""


def repo_path(repo_root: Path, app_id: int) -> Path:
    return repo_root / f"{app_id}.git"


def git_env(**extra: str) -> dict[str, str]:
    """A minimal environment for git: nothing of the user's global configuration applies."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "HOME": os.devnull,
    }
    env.update(extra)
    return env


def ensure_repo(repo_root: Path, app_id: int) -> Path:
    """The app's bare repository, made on first use (in a temporary folder, then renamed: never half made)."""
    path = repo_path(repo_root, app_id)
    if path.exists():
        _install_hook(path)
        return path
    repo_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".init-", dir=repo_root))
    try:
        subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(staging)],
            env=git_env(),
            check=True,
            capture_output=True,
        )
        for key, value in (("http.receivepack", "true"), ("receive.denyDeletes", "true")):
            subprocess.run(["git", "-C", str(staging), "config", key, value], env=git_env(), check=True)
        _install_hook(staging)
        try:
            os.rename(staging, path)
        except OSError:
            if not path.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _install_hook(repo: Path) -> None:
    """Write the hook when it is missing or from an older pipegraph (renamed into place: git never runs half of it)."""
    hook = repo / "hooks" / "pre-receive"
    try:
        if hook.read_text() == PRE_RECEIVE:
            return
    except FileNotFoundError:
        pass
    hook.parent.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=hook.parent, prefix=".pre-receive-")
    with os.fdopen(fd, "w") as out:
        out.write(PRE_RECEIVE)
    os.chmod(tmp, 0o755)
    os.replace(tmp, hook)
