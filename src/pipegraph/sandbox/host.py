"""No sandbox at all, for development machines without bubblewrap: the command runs with pipegraph's own rights.

Only the rlimits, the output caps, the timeout and the process-group kill still apply. Chosen only by
PIPEGRAPH_SANDBOX=none (or `pipegraph dev` where bubblewrap is missing), and then said loudly: at start in the log and
at the top of every command's output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipegraph.sandbox.base import OnLine
from pipegraph.sandbox.process import GUARD_TOOLS, Launch, LocalSandbox, Plan, find_tools

WARNING = (
    "pipegraph: WARNING: this command runs WITHOUT a sandbox (PIPEGRAPH_SANDBOX=none) and with pipegraph's own "
    "rights: it can read pipegraph's data folder and signal its processes. For development only."
)


class HostProcess(LocalSandbox):
    """Runs the command as a plain subprocess of the worker (development only); see the module docstring.
    `readonly_binds` are not remapped: the command sees the host's paths, all of them."""

    name = "none"
    isolated = False

    def __init__(self) -> None:
        # Without the guard's tools its protections are skipped, not the command: this mode promises nothing.
        self.tools, _ = find_tools(GUARD_TOOLS)

    async def _announce(self, on_output_line: OnLine) -> None:
        await on_output_line(WARNING)

    @contextmanager
    def _launch(self, plan: Plan) -> Iterator[Launch]:
        # The parent-death signal reaches only the shell here: what it started outlives a killed worker.
        yield Launch(argv=[*plan.wrappers, *plan.argv], cwd=plan.workdir)
