"""The child process git's CGI bridge starts outside the event loop: its pipes and its end, with real processes."""

from __future__ import annotations

import os

from pipegraph.sources import child

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


async def test_a_child_reads_what_is_written_to_it_and_reports_its_exit_status() -> None:
    process = await child.start(["sh", "-c", "cat; exit 3"], env=ENV)

    process.stdin.write(b"a pack\n" * 20_000)  # more than a pipe holds: drain must wait for the child to read
    await process.stdin.drain()
    process.stdin.close()
    received = await process.stdout.read()

    assert received == b"a pack\n" * 20_000
    assert await process.wait() == 3
    assert process.returncode == 3


async def test_a_killed_child_is_awaited_to_its_end() -> None:
    process = await child.start(["sleep", "600"], env=ENV)
    assert process.returncode is None

    process.kill()

    assert await process.wait() == -9
    process.stdin.close()
