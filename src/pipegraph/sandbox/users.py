"""Which host user a sandboxed command runs as when the worker is root: one of a range, a different one for each
command running at the same time, so one app's fork bomb (RLIMIT_NPROC counts per user) cannot starve another's."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import random
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from pipegraph.sandbox.process import Credentials

# Waiting for a user to come free: every one of the range runs a command right now.
TAKE_POLL_SECONDS = 0.05


class SandboxUsers:
    def __init__(self, uid: int, gid: int, count: int = 1, lock_dir: Path | None = None) -> None:
        if uid == 0 or gid == 0:
            raise ValueError("the sandbox user must not be root (PIPEGRAPH_SANDBOX_UID / _GID)")
        self.uid, self.gid, self.count = uid, gid, count
        # Locks shared by every worker of this host that uses the same temporary folder.
        self.lock_dir = lock_dir or Path(tempfile.gettempdir()) / "pipegraph-sandbox-users"

    @property
    def first(self) -> Credentials:
        return Credentials(uid=self.uid, gid=self.gid)

    @contextlib.asynccontextmanager
    async def take(self) -> AsyncIterator[Credentials]:
        """A user of the range no other command holds, held until the block ends (or its worker dies)."""
        if self.count == 1:
            yield self.first
            return
        self._ensure_lock_dir()
        while True:
            start = random.randrange(self.count)  # spread out: fewer collisions between workers
            for offset in range(self.count):
                uid = self.uid + (start + offset) % self.count
                lock = os.open(
                    self.lock_dir / f"{uid}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600
                )
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(lock)
                    continue
                try:
                    yield Credentials(uid=uid, gid=self.gid)
                finally:
                    os.close(lock)
                return
            await asyncio.sleep(TAKE_POLL_SECONDS)

    def _ensure_lock_dir(self) -> None:
        with contextlib.suppress(FileExistsError):
            self.lock_dir.mkdir(mode=0o700)
        info = os.lstat(self.lock_dir)
        # In a shared /tmp another user could have made it first, to hold every lock: refuse rather than wait forever.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise PermissionError(f"{self.lock_dir} is not a folder of pipegraph's own user; remove it")
