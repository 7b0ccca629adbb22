"""The sandbox proper: bubblewrap (as Flatpak uses) builds the namespaces, util-linux `prlimit` sets the rlimits.

Inside, the command sees the system folders read-only, a minimal /etc, its work folder at /app (read-write), a private
/tmp capped in size, a fresh /proc of its own pid namespace and a minimal /dev; pipegraph's data folder, database
files, sockets and every other app's files are simply not there. It runs as an unprivileged user with no capability,
cannot create user namespaces of its own, and dies with the worker (bubblewrap's --die-with-parent, then the kernel
kills the whole pid namespace when its init goes).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, contextmanager, nullcontext
from pathlib import Path

from pipegraph.sandbox.base import Limits
from pipegraph.sandbox.process import GUARD_TOOLS, Credentials, Launch, LocalSandbox, Plan, find_tools, guard
from pipegraph.sandbox.users import SandboxUsers

APP_PATH = "/app"  # where Heroku mounts an app, and where commands written for it expect to be
INNER_UID = 1000  # the command's uid as it sees it; the host sees the sandbox user (or the worker's own)
PROBE_TIMEOUT = 20.0

# Merged-/usr systems have these as links into /usr; older ones as folders of their own.
SYSTEM_TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Enough of /etc to run programs, resolve names and verify TLS; nothing naming the host's users or services.
ETC_FILES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
)
PASSWD = f"app:x:{INNER_UID}:{INNER_UID}:app:{APP_PATH}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = f"app:x:{INNER_UID}:\nnogroup:x:65534:\n"


class BubblewrapSandbox(LocalSandbox):
    """Runs commands in a bubblewrap sandbox; see the module docstring for what they see and may do."""

    name = "bubblewrap"
    isolated = True

    def __init__(self, *, share_network: bool = True, uid: int = 65534, gid: int = 65534, uids: int = 1) -> None:
        self.tools, missing = find_tools(("bwrap", *GUARD_TOOLS))
        if missing:
            raise FileNotFoundError(f"{', '.join(missing)} not found on PATH")
        self.share_network = share_network
        # Root must not lend its rights: bubblewrap itself runs as an unprivileged user, so inside its user namespace
        # the command maps to that user on the host, and a root-only file stays unreadable. Any other worker user
        # is unprivileged already, and cannot become another.
        self.users = SandboxUsers(uid, gid, uids) if os.geteuid() == 0 else None

    def _user(self) -> AbstractAsyncContextManager[Credentials]:
        return self.users.take() if self.users else nullcontext(Credentials())

    def app_path(self, workdir: Path) -> str:
        return APP_PATH

    def probe(self) -> str | None:
        """None when a trivial command runs in this sandbox, else what bubblewrap said (run once at start)."""
        with tempfile.TemporaryDirectory(prefix="pipegraph-probe-") as folder, ExitStack() as stack:
            workdir = Path(folder) / "app"
            workdir.mkdir()
            Path(folder).chmod(0o711)
            credentials = self.users.first if self.users else Credentials()
            self._prepare(workdir, credentials)
            wrappers = guard(self.tools, Limits(), PROBE_TIMEOUT)
            plan = Plan(["/bin/true"], workdir, wrappers, Limits(), {}, credentials)
            launch = stack.enter_context(self._launch(plan))
            try:
                done = subprocess.run(
                    launch.argv,
                    cwd=launch.cwd,
                    env={"PATH": "/usr/bin:/bin"},
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=PROBE_TIMEOUT,
                    pass_fds=launch.pass_fds,
                    user=credentials.uid,
                    group=credentials.gid,
                    extra_groups=[] if credentials.uid is not None else None,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as error:
                return str(error)
            if done.returncode != 0:
                said = (done.stderr or done.stdout).decode(errors="replace").strip()
                return said or f"bwrap exited with status {done.returncode}"
            return None

    def _prepare(self, workdir: Path, credentials: Credentials) -> None:
        """Make the work folder the sandbox user's, links included but never what they point to."""
        if credentials.uid is None:
            return
        uid, gid = credentials.uid, credentials.gid if credentials.gid is not None else credentials.uid
        os.chown(workdir, uid, gid)
        for root, dirs, files in os.walk(workdir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)

    @contextmanager
    def _launch(self, plan: Plan) -> Iterator[Launch]:
        fds: list[int] = []
        info_read, info_write = os.pipe()
        os.set_blocking(info_read, False)
        fds.append(info_write)
        try:
            passwd, group = _data_fd(PASSWD, fds), _data_fd(GROUP, fds)
            args = [
                *("--unshare-all", "--unshare-user", "--disable-userns"),
                *(["--share-net"] if self.share_network else []),
                *("--die-with-parent", "--new-session", "--hostname", "sandbox", "--info-fd", str(info_write)),
                *("--uid", str(INNER_UID), "--gid", str(INNER_UID)),
                *("--ro-bind", "/usr", "/usr"),
                *_system_top(),
                *_etc(),
                *("--ro-bind-data", str(passwd), "/etc/passwd", "--ro-bind-data", str(group), "/etc/group"),
                *("--proc", "/proc", "--dev", "/dev"),
                *("--size", str(plan.limits.tmp_bytes), "--tmpfs", "/tmp", "--symlink", "/tmp", "/var/tmp"),
            ]
            for inside, host in sorted(plan.readonly_binds.items()):
                args += ["--ro-bind", str(host), inside]
            args += ["--bind", str(plan.workdir), APP_PATH, "--chdir", APP_PATH]
            command = [*plan.wrappers, self.tools["bwrap"], *args, "--", *plan.argv]
            yield Launch(
                argv=command, cwd=Path("/"), credentials=plan.credentials, pass_fds=tuple(fds), info_fd=info_read
            )
        finally:
            for fd in [info_read, *fds]:
                os.close(fd)


def _data_fd(content: str, fds: list[int]) -> int:
    """A pipe holding `content` for bubblewrap's --ro-bind-data (small: it fits the pipe's buffer)."""
    read, write = os.pipe()
    fds.append(read)
    with os.fdopen(write, "w") as writer:
        writer.write(content)
    return read


def _system_top() -> list[str]:
    args: list[str] = []
    for name in SYSTEM_TOP:
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _etc() -> list[str]:
    args: list[str] = []
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args
