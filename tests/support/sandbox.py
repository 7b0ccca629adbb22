"""Which sandbox the suite runs app commands in, and what tests that depend on it share."""

from __future__ import annotations

import shutil
import time

import pytest

from pipegraph.sandbox import bubblewrap_problem
from pipegraph.sandbox.host import WARNING

# The suite runs app commands in the real sandbox wherever bubblewrap works; elsewhere unsandboxed (said in the
# header), and the tests that are about the sandbox itself skip.


def _bubblewrap_problem(attempts: int = 5) -> str | None:
    """Why bubblewrap cannot run here; asked again a few times where it is installed, since one failed probe would
    run the whole suite unsandboxed (another suite's fork-bomb test can briefly fill the sandbox user's processes)."""
    problem = bubblewrap_problem()
    for _ in range(attempts - 1):
        if problem is None or shutil.which("bwrap") is None:
            break
        time.sleep(1)
        problem = bubblewrap_problem()
    return problem


BUBBLEWRAP_PROBLEM = _bubblewrap_problem()
SANDBOX_MODE = "bubblewrap" if BUBBLEWRAP_PROBLEM is None else "none"
requires_bubblewrap = pytest.mark.skipif(
    BUBBLEWRAP_PROBLEM is not None,
    reason=f"needs a working bubblewrap (bwrap), which cannot run here: {BUBBLEWRAP_PROBLEM}; .ci/run installs it",
)


def expected_log(*lines: str) -> list[str]:
    """A release log's lines as the suite's sandbox writes them: unsandboxed, its warning comes first."""
    return [WARNING, *lines] if SANDBOX_MODE == "none" else list(lines)
