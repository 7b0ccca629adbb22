"""Looking at real processes through /proc (Linux): who a process started, and whether one still runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

# Every process forks again for ever (a shell's bomb gives up when fork fails, and its end ends them all).
FORK_BOMB = """
import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.1)
"""


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def alive(pid: int) -> bool:
    """Running, or stopped; not gone and not a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def processes_running(argument: str, *, zombies: bool = False) -> list[int]:
    """Processes with this exact argument, as the host sees them: from outside any sandbox's pid namespace. A zombie
    has ended but still counts against its user's process limit until reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and argument.encode() in (entry / "cmdline").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # ended while we looked
    return found if zombies else [pid for pid in found if alive(pid)]


async def gone(argument: str, *, within: float = 5) -> bool:
    deadline = time.monotonic() + within
    while processes_running(argument):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
