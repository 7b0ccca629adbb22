"""The sandbox's settings, read from the environment with the rest of pipegraph's (see the README's table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipegraph.sandbox.base import Limits

MODES = ("bubblewrap", "none", "auto")
NETWORKS = ("shared", "none")
LIMIT_SETTINGS = {
    "PIPEGRAPH_SANDBOX_MAX_PROCESSES": "processes",
    "PIPEGRAPH_SANDBOX_MAX_MEMORY_BYTES": "memory_bytes",
    "PIPEGRAPH_SANDBOX_MAX_CPU_SECONDS": "cpu_seconds",
    "PIPEGRAPH_SANDBOX_MAX_OPEN_FILES": "open_files",
    "PIPEGRAPH_SANDBOX_MAX_FILE_BYTES": "file_bytes",
    "PIPEGRAPH_SANDBOX_MAX_OUTPUT_BYTES": "output_bytes",
    "PIPEGRAPH_SANDBOX_MAX_OUTPUT_LINES": "output_lines",
    "PIPEGRAPH_SANDBOX_TMP_BYTES": "tmp_bytes",
}


@dataclass(frozen=True)
class SandboxSettings:
    # bubblewrap: required, a worker refuses to start without it; none: no sandbox (development only, said loudly);
    # auto: bubblewrap where it works, else none (what `pipegraph dev` uses unless told otherwise).
    mode: str = "bubblewrap"
    network: str = "shared"  # shared: the host's network (databases are reached over it); none: loopback only
    uid: int = 65534  # the host user commands run as when the worker runs as root
    gid: int = 65534
    uids: int = 1  # how many users from `uid` on: commands running at once each take one of their own
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SandboxSettings:
        """Raises ValueError naming the setting when one is not understood."""
        mode = _choice(env, "PIPEGRAPH_SANDBOX", MODES, cls.mode)
        network = _choice(env, "PIPEGRAPH_SANDBOX_NETWORK", NETWORKS, cls.network)
        limits = Limits(
            **{attribute: _count(env, name, getattr(Limits, attribute)) for name, attribute in LIMIT_SETTINGS.items()}
        )
        return cls(
            mode=mode,
            network=network,
            uid=_count(env, "PIPEGRAPH_SANDBOX_UID", cls.uid),
            gid=_count(env, "PIPEGRAPH_SANDBOX_GID", cls.gid),
            uids=_count(env, "PIPEGRAPH_SANDBOX_UIDS", cls.uids),
            limits=limits,
        )


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not understood: use one of {', '.join(choices)}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    # isascii too: str.isdigit() accepts "²", which int() then refuses with a message that names no setting.
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValueError(f"{name}={raw!r} is not understood: use a whole number above 0")
    return int(raw)
