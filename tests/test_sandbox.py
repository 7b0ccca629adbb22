"""What the sandbox keeps a command from: the host's files, root's rights, the worker's processes, and unbounded
processes, memory, CPU, files and output. Real bubblewrap, real processes; each limit is also shown not to bite below
it, so a test cannot pass because the command never ran."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pipegraph.sandbox import Limits, Outcome, Sandbox, Workspaces
from pipegraph.sandbox.bubblewrap import SYSTEM_TOP, BubblewrapSandbox
from tests.support.processes import FORK_BOMB, gone, processes_running
from tests.support.sandbox import requires_bubblewrap

pytestmark = requires_bubblewrap

# /bin, /lib64… as this host has them (links into /usr or folders): the sandbox mirrors them.
HOST_SYSTEM_TOP = [name for name in SYSTEM_TOP if os.path.lexists(f"/{name}")]
LIMITS = Limits(processes=64, memory_bytes=512 * 1024 * 1024, output_bytes=256 * 1024, output_lines=2000)
# Unused ids for the fork-bomb tests, apart for each test process: RLIMIT_NPROC counts every process of a user on the
# host, so a bomb run as the shared sandbox user would starve the commands of another suite running beside this one.
BOMB_UID = 60100 + (os.getpid() % 1000) * 4


@pytest.fixture
def workdir() -> Iterator[Path]:
    with Workspaces("pipegraph-test-sandbox-").new() as folder:
        app = folder / "app"
        app.mkdir()
        (app / "README").write_text("hello\n")
        yield app


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A host folder anyone may traverse, like the data folder's parents: only the mount namespace hides it."""
    with Workspaces("pipegraph-test-host-").new() as folder:
        yield folder


async def run(
    sandbox: Sandbox,
    workdir: Path,
    script: str,
    *,
    limits: Limits = LIMITS,
    timeout: float = 10,  # noqa: ASYNC109 - the command's budget, passed on
    binds: dict[str, Path] | None = None,
) -> tuple[Outcome, list[str]]:
    lines: list[str] = []

    async def collect(line: str) -> None:
        lines.append(line)

    outcome = await sandbox.run(
        ["/bin/sh", "-c", script],
        workdir=workdir,
        env={"PATH": "/usr/bin:/bin", "HOME": sandbox.app_path(workdir)},
        limits=limits,
        timeout=timeout,
        on_output_line=collect,
        readonly_binds=binds,
    )
    return outcome, lines


async def test_sees_its_own_folder_read_write_and_the_system_but_no_other_host_file(
    sandbox: Sandbox, workdir: Path, host_dir: Path
) -> None:
    # given a world-readable file on the host, as the data folder's are to anyone who can reach them
    secret = host_dir / "secret_key"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)

    # when a command looks around
    outcome, lines = await run(
        sandbox,
        workdir,
        f"pwd; cat README; echo made > new; cat {secret} || echo no-secret; ls /; "
        "python3 -c 'print(\"python runs\")'; ls /home /root /var/lib 2>&1 | wc -l",
    )

    # then it works in /app, writes there, runs system programs, and the host's other files are not there
    assert outcome.succeeded, lines
    assert lines[:2] == ["/app", "hello"]
    assert f"cat: {secret}: No such file or directory" in lines
    assert "no-secret" in lines
    listed = lines[lines.index("no-secret") + 1 : lines.index("python runs")]
    assert sorted(listed) == sorted(["app", "dev", "etc", "proc", "tmp", "usr", "var", *HOST_SYSTEM_TOP])
    assert (workdir / "new").read_text() == "made\n"


async def test_a_root_only_file_stays_unreadable_even_when_bound(
    sandbox: Sandbox, workdir: Path, host_dir: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the worker does not run as root here: there are no root rights to withhold")
    # given a 0600 root-owned file and a world-readable one, both bound into the sandbox
    (host_dir / "root-only").write_text("root secret\n")
    (host_dir / "root-only").chmod(0o600)
    (host_dir / "public").write_text("public\n")
    (host_dir / "public").chmod(0o644)
    binds = {"/mnt/root-only": host_dir / "root-only", "/mnt/public": host_dir / "public"}

    # when the command reads both and tries root's ways
    outcome, lines = await run(
        sandbox, workdir, "cat /mnt/public; cat /mnt/root-only; id -u; touch /usr/x", binds=binds
    )

    # then only the public one is readable: the command is not root on the host, nor in the sandbox
    assert lines[0] == "public"
    assert "cat: /mnt/root-only: Permission denied" in lines
    assert "root secret" not in lines
    assert "1000" in lines
    assert any("touch: cannot touch '/usr/x'" in line for line in lines)
    assert not outcome.succeeded
    # and what it made in its folder belongs to the unprivileged sandbox user on the host
    assert (workdir / "README").stat().st_uid == 65534


async def test_cannot_see_or_signal_the_worker(sandbox: Sandbox, workdir: Path) -> None:
    # when a command lists processes and signals the worker's pid and its own init
    outcome, lines = await run(
        sandbox, workdir, f"ls /proc | grep -c '^[0-9]'; kill -KILL {os.getpid()} 1 || echo refused"
    )

    # then it sees only itself, its signals reach nothing, and the worker (this test) lives on
    assert int(lines[0]) <= 4
    assert "refused" in lines
    assert outcome.exit_code == 0


FORK_200 = """
import os
started = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "600.5"])
        started += 1
except BlockingIOError:
    pass
print(started)
"""


async def test_a_fork_bomb_is_capped_then_killed_with_everything_it_started(sandbox: Sandbox, workdir: Path) -> None:
    if os.geteuid() == 0:
        sandbox = BubblewrapSandbox(uid=BOMB_UID + 2, gid=BOMB_UID + 2)
    # when one command starts far more processes than allowed, and another forks without end
    capped, lines = await run(sandbox, workdir, f"python3 -c '{FORK_200}'")
    bomb, bomb_lines = await run(sandbox, workdir, f"python3 -c '{FORK_BOMB}'", timeout=2)

    # then no more than the limit ran, the bomb was cut off at its timeout, and nothing of either remains, not even
    # a zombie still counting against the user's process limit once the run has returned
    assert capped.succeeded, lines
    assert 10 < int(lines[-1]) < LIMITS.processes
    assert bomb.timed_out, (bomb, bomb_lines)
    assert processes_running("600.5", zombies=True) == []
    assert processes_running(FORK_BOMB, zombies=True) == []
    # and the next command runs normally
    assert (await run(sandbox, workdir, "echo fine"))[1] == ["fine"]


async def test_memory_past_the_limit_cannot_be_had(sandbox: Sandbox, workdir: Path) -> None:
    script = "python3 -c 'b = bytearray({} * 1024 * 1024); print(\"got it\")'"
    small, small_lines = await run(sandbox, workdir, script.format(32))
    large, large_lines = await run(sandbox, workdir, script.format(1024))

    assert (small.succeeded, small_lines) == (True, ["got it"])
    assert not large.succeeded
    assert "MemoryError" in large_lines


async def test_cpu_time_past_the_limit_kills_with_a_named_signal(sandbox: Sandbox, workdir: Path) -> None:
    outcome, _ = await run(sandbox, workdir, "while :; do :; done", limits=replace(LIMITS, cpu_seconds=1))

    assert outcome.exit_code == 128 + signal.SIGXCPU
    assert outcome.killed_by_limit == "SIGXCPU"
    assert outcome.problem(what="release command", timeout=10, limits=LIMITS) == (
        "release command exited with status 152 (SIGXCPU: the CPU time limit was reached)"
    )


async def test_files_open_files_and_tmp_are_capped(sandbox: Sandbox, workdir: Path) -> None:
    limits = replace(LIMITS, file_bytes=1024 * 1024, open_files=32, tmp_bytes=2 * 1024 * 1024)
    big_file, _ = await run(sandbox, workdir, "head -c 2M /dev/zero > big", limits=limits)
    small_file, _ = await run(sandbox, workdir, "head -c 512K /dev/zero > small", limits=limits)
    many_open, open_lines = await run(
        sandbox, workdir, "python3 -c 'f = [open(\"README\") for _ in range(100)]'", limits=limits
    )
    full_tmp, tmp_lines = await run(
        sandbox, workdir, "for i in 1 2 3 4; do head -c 900K /dev/zero > /tmp/$i || exit 9; done", limits=limits
    )

    assert big_file.exit_code == 128 + signal.SIGXFSZ
    assert big_file.killed_by_limit == "SIGXFSZ"
    assert small_file.succeeded
    assert any("Too many open files" in line for line in open_lines), open_lines
    assert not many_open.succeeded
    assert full_tmp.exit_code == 9
    assert any("No space left on device" in line for line in tmp_lines), tmp_lines


async def test_endless_output_is_cut_off_and_the_command_stopped(sandbox: Sandbox, workdir: Path) -> None:
    started = time.monotonic()
    lines_outcome, lines = await run(sandbox, workdir, "yes; sleep 600.9")
    bytes_outcome, one_line = await run(sandbox, workdir, "cat /dev/zero | tr '\\0' x; sleep 600.9")

    assert lines_outcome.output_truncated
    assert lines_outcome.killed_by_limit == "output"
    assert not lines_outcome.timed_out
    assert len(lines) == LIMITS.output_lines
    assert bytes_outcome.output_truncated
    assert sum(len(line) for line in one_line) == LIMITS.output_bytes  # in pieces: no unbounded line buffer
    assert time.monotonic() - started < 10  # stopped at the cap, not at the timeout
    assert await gone("600.9")
    assert lines_outcome.problem(what="release command", timeout=10, limits=LIMITS) == (
        "release command printed more than 262144 bytes or 2000 lines of output: it was stopped and its output "
        "cut there"
    )


async def test_network_can_be_taken_away(workdir: Path) -> None:
    script = "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '"
    isolated = BubblewrapSandbox(share_network=False)
    shared = BubblewrapSandbox(share_network=True)

    assert (await run(isolated, workdir, script))[1] == ["lo"]
    assert len((await run(shared, workdir, script))[1]) > 1


@pytest.mark.parametrize(("users", "starved"), [(1, True), (2, False)])
async def test_commands_running_at_once_get_users_of_their_own_so_a_fork_bomb_starves_only_itself(
    tmp_path: Path, users: int, starved: bool
) -> None:
    if os.geteuid() != 0:
        pytest.skip("the worker does not run as root here: it cannot start commands as other users")
    # given a sandbox with one user, or two, for commands (unused ids, so nothing else on the host counts)
    sandbox = BubblewrapSandbox(uid=BOMB_UID, gid=BOMB_UID, uids=users)
    limits = replace(LIMITS, processes=32)

    # when a fork bomb runs and another command starts while it does
    with Workspaces("pipegraph-test-bomb-").new() as first, Workspaces("pipegraph-test-other-").new() as second:
        (first / "app").mkdir()
        (second / "app").mkdir()
        bomb = asyncio.create_task(run(sandbox, first / "app", f"python3 -c '{FORK_BOMB}'", limits=limits, timeout=3))
        await asyncio.sleep(1)
        other, lines = await run(sandbox, second / "app", f"python3 -c '{FORK_200}'", limits=limits)
        await bomb
        owners = {(first / "app").stat().st_uid, (second / "app").stat().st_uid}

    # then with one user the other command cannot even start; with two it runs as a user of its own
    assert other.succeeded is not starved, lines
    assert len(owners) == users
