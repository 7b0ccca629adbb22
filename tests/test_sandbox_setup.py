"""Choosing the sandbox at start (refusing, or unsandboxed only when told, loudly), its settings, and the sweeping of
work folders a killed worker left: none of it needs bubblewrap to run."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipegraph.sandbox import Limits, SandboxSettings, SandboxUnavailable, Workspaces, open_sandbox
from pipegraph.sandbox.host import WARNING
from pipegraph.sandbox.workspace import LOCK_NAME
from pipegraph.settings import Settings

PIPEGRAPH = str(Path(sys.executable).parent / "pipegraph")


def test_a_worker_refuses_to_start_without_a_working_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a machine where bwrap is not on the PATH
    monkeypatch.setenv("PATH", str(tmp_path))

    # then the default refuses, saying why and what to do, and only an explicit choice runs unsandboxed, loudly
    with pytest.raises(
        SandboxUnavailable, match=r"bwrap, setpriv, prlimit, timeout not found on PATH.*apt-get install bubblewrap"
    ):
        open_sandbox(SandboxSettings())
    with caplog.at_level(logging.WARNING, logger="pipegraph.sandbox"):
        assert not open_sandbox(SandboxSettings(mode="auto")).isolated
        assert not open_sandbox(SandboxSettings(mode="none")).isolated
    assert [record.message.split(":")[0] for record in caplog.records] == ["UNSANDBOXED", "UNSANDBOXED"]


async def test_unsandboxed_runs_say_so_at_the_top_of_their_output(tmp_path: Path) -> None:
    lines: list[str] = []

    async def collect(line: str) -> None:
        lines.append(line)

    outcome = await open_sandbox(SandboxSettings(mode="none")).run(
        ["/bin/sh", "-c", "echo hi"], workdir=tmp_path, env={}, limits=Limits(), timeout=5, on_output_line=collect
    )
    assert outcome.succeeded
    assert lines == [WARNING, "hi"]


def test_pipegraph_worker_refuses_to_start_where_bubblewrap_cannot_run(settings: Settings, tmp_path: Path) -> None:
    # given a machine without bwrap, and no setting that waives the sandbox
    env = {
        "PATH": str(tmp_path),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "PIPEGRAPH_DATA_DIR": str(settings.data_dir),
        "PIPEGRAPH_SECRET_KEY": "test",
    }

    # when a worker starts, it stops at once and says why and what to do
    done = subprocess.run([PIPEGRAPH, "worker"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "app commands must run in a sandbox, but bubblewrap cannot run here" in done.stderr
    assert "PIPEGRAPH_SANDBOX=none" in done.stderr


def test_the_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="PIPEGRAPH_SANDBOX='nsjail' is not understood"):
        SandboxSettings.from_env({"PIPEGRAPH_SANDBOX": "nsjail"})
    with pytest.raises(ValueError, match="PIPEGRAPH_SANDBOX_MAX_PROCESSES='-1' is not understood"):
        SandboxSettings.from_env({"PIPEGRAPH_SANDBOX_MAX_PROCESSES": "-1"})
    with pytest.raises(ValueError, match="PIPEGRAPH_SANDBOX_UID='²' is not understood"):
        SandboxSettings.from_env({"PIPEGRAPH_SANDBOX_UID": "²"})
    settings = SandboxSettings.from_env({"PIPEGRAPH_SANDBOX_NETWORK": "none", "PIPEGRAPH_SANDBOX_MAX_CPU_SECONDS": "9"})
    assert (settings.mode, settings.network, settings.limits.cpu_seconds) == ("bubblewrap", "none", 9)


def test_folders_left_by_a_killed_worker_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    workspaces = Workspaces("pipegraph-sweep-", root=tmp_path)
    # given a folder whose lock died with its worker, one still in use, and one just made
    left = tmp_path / "pipegraph-sweep-left"
    (left / "app").mkdir(parents=True)
    (left / LOCK_NAME).touch()
    (left / "app" / "locked").mkdir()
    (left / "app" / "locked").chmod(0)
    old = time.time() - 3600
    os.utime(left, (old, old))
    with workspaces.new() as live:
        os.utime(live, (old, old))
        fresh = tmp_path / "pipegraph-sweep-fresh"
        fresh.mkdir()
        (fresh / LOCK_NAME).touch()

        # when the sweeper runs
        assert workspaces.sweep() == 1

        # then only the abandoned one is gone, even with a folder its command made unreadable
        assert not left.exists()
        assert live.exists()
        assert fresh.exists()
        assert stat.S_IMODE(live.stat().st_mode) == 0o711
    assert not live.exists()
