"""A child process with asyncio pipes, started by `subprocess.Popen` rather than by the event loop.

Under uvicorn the loop is uvloop, whose `subprocess_exec` forks the whole API process: with all its memory mapped, each
fork held the loop for 10-20 ms on a loaded machine, twice per `git push`, and every other request waited. Popen uses
vfork where it can (no preexec_fn, no change of user), which costs the same whatever the parent's size. Its pipes are
then handed to the loop, and its end is awaited through a pidfd, so no thread is held for the length of a push.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence


class Child:
    """What git's CGI bridge used of `asyncio.subprocess.Process`: stdin, stdout, returncode, kill, wait."""

    def __init__(
        self, popen: subprocess.Popen[bytes], stdin: asyncio.StreamWriter, stdout: asyncio.StreamReader
    ) -> None:
        self.popen, self.stdin, self.stdout = popen, stdin, stdout

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()

    async def wait(self) -> int:
        if self.popen.poll() is None:
            await _exited(self.popen.pid)
        return self.popen.wait()


async def start(argv: Sequence[str], *, env: Mapping[str, str]) -> Child:
    """Start `argv` with its stdin and stdout on pipes the loop writes and reads, its stderr discarded."""
    popen = subprocess.Popen(  # noqa: ASYNC220 - vfork: it returns once the child has exec'd, see above
        list(argv), env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert popen.stdin is not None
    assert popen.stdout is not None
    loop = asyncio.get_running_loop()
    try:
        stdout = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdout), popen.stdout)
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, popen.stdin)
    except BaseException:
        popen.kill()
        popen.wait()
        raise
    return Child(popen, asyncio.StreamWriter(transport, protocol, None, loop), stdout)


async def _exited(pid: int) -> None:
    """Until the child `pid` (not reaped yet) has ended."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # a kernel without pidfds: a thread waits instead
        await asyncio.to_thread(os.waitid, os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        return
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        await ended
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
