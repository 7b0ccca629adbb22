"""Choosing the sandbox at worker start: bubblewrap, or refusal, or (only when told) none at all, said loudly."""

from __future__ import annotations

import logging

from pipegraph.sandbox.base import Sandbox
from pipegraph.sandbox.bubblewrap import BubblewrapSandbox
from pipegraph.sandbox.config import SandboxSettings
from pipegraph.sandbox.host import HostProcess

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) or, for development only, "
    "set PIPEGRAPH_SANDBOX=none to run app commands unsandboxed"
)


class SandboxUnavailable(RuntimeError):
    """The sandbox is required but cannot run here: the worker must not start."""


def open_sandbox(settings: SandboxSettings) -> Sandbox:
    """The sandbox the settings ask for, checked to work; raises SandboxUnavailable rather than run unconfined."""
    if settings.mode == "none":
        return _unsandboxed("PIPEGRAPH_SANDBOX=none")
    problem = bubblewrap_problem(settings.network == "shared", settings.uid, settings.gid)
    if problem is None:
        return BubblewrapSandbox(
            share_network=settings.network == "shared", uid=settings.uid, gid=settings.gid, uids=settings.uids
        )
    if settings.mode == "auto":
        return _unsandboxed(f"bubblewrap cannot run here ({problem})")
    raise SandboxUnavailable(
        f"app commands must run in a sandbox, but bubblewrap cannot run here: {problem}; {INSTALL_HINT}"
    )


def bubblewrap_problem(share_network: bool = True, uid: int = 65534, gid: int = 65534) -> str | None:
    """None when bubblewrap runs a trivial command with these settings; else why not (a few milliseconds)."""
    try:
        sandbox = BubblewrapSandbox(share_network=share_network, uid=uid, gid=gid)
    except (FileNotFoundError, ValueError) as error:
        return str(error)
    return sandbox.probe()


def _unsandboxed(why: str) -> HostProcess:
    logger.warning(
        "UNSANDBOXED: app commands (release phase) run with pipegraph's own rights because %s. "
        "They can read the data folder, its secret key and database, and signal the worker. For development only.",
        why,
    )
    return HostProcess()
