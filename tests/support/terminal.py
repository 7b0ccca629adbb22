"""A program run in a pseudo-terminal, as a person runs it: it sees a TTY, reads keys, and the test reads its screen."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import subprocess
import threading
import time
from pathlib import Path


class Terminal:
    """One process on a pty; its output gathered by a thread, so an async test (and a server in its loop) go on."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path | None = None) -> None:
        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True
        )
        os.close(slave)
        self._master = master
        self._output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:  # EIO: the process closed its end
                return
            if not data:
                return
            self._output += data

    @property
    def screen(self) -> str:
        return self._output.decode(errors="replace").replace("\r\n", "\n")

    def press(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    async def shows(self, pattern: str, *, seconds: float = 60) -> re.Match[str]:
        """Wait until the output matches (the limit only stops a hung test; nothing is timed)."""
        deadline = time.monotonic() + seconds
        while (found := re.search(pattern, self.screen)) is None:
            if time.monotonic() > deadline or (self.process.poll() is not None and not self._reader.is_alive()):
                raise AssertionError(f"never showed {pattern!r}:\n{self.screen}")
            await asyncio.sleep(0.02)
        return found

    async def exit_code(self) -> int:
        code = await asyncio.to_thread(self.process.wait, 60)
        await asyncio.to_thread(self._reader.join, 10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._master)
