"""No sandbox at all, for development machines without bubblewrap: the command runs with pipegraph's own rights.

Only the rlimits, the output caps, the timeout and the process-group kill still apply. Chosen only by
PIPEGRAPH_SANDBOX=none (or `pipegraph dev` where bubblewrap is missing), and then said loudly: at start in the log and
at the top of every command's output.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from pipegraph.sandbox.base import Limits, OnLine
from pipegraph.sandbox.process import Launch, LocalSandbox

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
        # util-linux prlimit is on every Debian-like system; without it the limits alone are skipped, not the command.
        self.prlimit = shutil.which("prlimit")

    async def _announce(self, on_output_line: OnLine) -> None:
        await on_output_line(WARNING)

    @contextmanager
    def _launch(
        self, argv: Sequence[str], workdir: Path, limits: Limits, readonly_binds: Mapping[str, Path]
    ) -> Iterator[Launch]:
        wrapper = [self.prlimit, *limits.prlimit_args(), "--"] if self.prlimit else []
        yield Launch(argv=[*wrapper, *argv], cwd=workdir)
