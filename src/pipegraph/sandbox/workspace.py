"""Work folders for sandboxed commands: fresh for each run, locked while in use, removed after, and swept when a
killed worker left one behind (its lock died with it)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"  # beside the folder the sandbox binds, never inside it: the command cannot touch it
# A folder younger than this may be one just made whose lock is not taken yet.
SWEEP_MIN_AGE_SECONDS = 60.0


class Workspaces:
    def __init__(self, prefix: str, root: Path | None = None) -> None:
        self.prefix = prefix
        self.root = root or Path(tempfile.gettempdir())

    @contextlib.contextmanager
    def new(self) -> Iterator[Path]:
        """A fresh folder, traversable (not readable) by others so a sandbox user can reach a subfolder handed to it."""
        folder = Path(tempfile.mkdtemp(prefix=self.prefix, dir=self.root))
        folder.chmod(0o711)
        lock = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield folder
        finally:
            remove_tree(folder)
            os.close(lock)

    def sweep(self, *, min_age: float = SWEEP_MIN_AGE_SECONDS) -> int:
        """Remove folders whose owner is gone (their lock is free); returns how many."""
        removed = 0
        cutoff = time.time() - min_age
        for folder in self.root.glob(f"{self.prefix}*"):
            try:
                if not folder.is_dir() or folder.is_symlink() or folder.stat().st_mtime > cutoff:
                    continue
                lock = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
            except OSError:
                continue  # no lock file: not one of ours, or one being made right now
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker still runs a command in it
            finally:
                os.close(lock)
            remove_tree(folder)
            removed += 1
        return removed


def remove_tree(folder: Path) -> None:
    """Remove what a command left, even folders it made unreadable or read-only to their own owner."""
    try:
        shutil.rmtree(folder)
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    _open_up(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _open_up(folder: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(folder, stat.S_IRWXU)
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                _open_up(Path(entry.path))
