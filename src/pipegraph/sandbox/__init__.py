"""One runner for every command that comes from an app (release phase now; builds, CI and app.json scripts next).

`open_sandbox(settings)` at worker start picks and checks the sandbox; `sandbox.run(argv, workdir=…, env=…,
limits=…, timeout=…, on_output_line=…)` runs one command and says how it ended. A cluster runner can replace it by
implementing the `Sandbox` protocol.
"""

from pipegraph.sandbox.base import Limits, OnLine, Outcome, Sandbox
from pipegraph.sandbox.config import SandboxSettings
from pipegraph.sandbox.factory import SandboxUnavailable, bubblewrap_problem, open_sandbox
from pipegraph.sandbox.workspace import Workspaces

__all__ = [
    "Limits",
    "OnLine",
    "Outcome",
    "Sandbox",
    "SandboxSettings",
    "SandboxUnavailable",
    "Workspaces",
    "bubblewrap_problem",
    "open_sandbox",
]
