"""`pipegraph dev` end to end, as a newcomer runs it: a real process, its own SQLite and embedded Redis."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from pipegraph.redis import advertise_dev_redis, running_dev_redis
from tests.support.processes import alive, children, command_of

PIPEGRAPH = str(Path(sys.executable).parent / "pipegraph")

DEMO_GRAPH = """
{ viewer { email }
  pipeline(name: "shop") { stages { name apps { name currentRelease { version status } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def read_until(process: subprocess.Popen[str], pattern: str, deadline: float) -> tuple[str, str]:
    """The first group of the first output line matching `pattern`, and everything printed up to it (start-up
    warnings come before it, or not, as they race)."""
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(pattern, line)
        if match:
            return match.group(1), "".join(lines)
    raise AssertionError(f"pipegraph dev printed nothing matching {pattern!r}:\n" + "".join(lines))


def printed(process: subprocess.Popen[str], pattern: str, deadline: float) -> str:
    return read_until(process, pattern, deadline)[0]


def read_until_token(process: subprocess.Popen[str], deadline: float) -> tuple[str, str]:
    return read_until(process, r"token:\s+(pgt_\S+)", deadline)


def wait_for_token(process: subprocess.Popen[str], deadline: float) -> str:
    return read_until_token(process, deadline)[0]


def wait_for_server(port: int) -> None:
    for _ in range(100):  # the token is printed just before the server binds its port
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            return
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answers on port {port}")


def dev_env(tmp_path: Path) -> dict[str, str]:
    """A newcomer's environment: no database or Redis configured, a data folder of its own."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env["PIPEGRAPH_DATA_DIR"] = str(tmp_path / "data")
    return env


@contextmanager
def dev_demo(tmp_path: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """`pipegraph dev --demo` on a fresh data folder, no database or Redis configured; stopped with Ctrl-C."""
    env = dev_env(tmp_path)
    process = subprocess.Popen(
        [PIPEGRAPH, "dev", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
            if process.stdout:
                process.stdout.close()


def test_dev_on_a_port_in_use_says_so_in_one_line_and_starts_nothing(tmp_path: Path) -> None:
    # given a port something else listens on
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dev_env(tmp_path)

        # when pipegraph dev is asked to serve on it
        ran = subprocess.run(
            [PIPEGRAPH, "dev", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    # then it says why in one line and exits 1, with no "running" banner, and nothing was started or written
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert "pipegraph is running" not in ran.stdout
    assert not (tmp_path / "data").exists()


def test_dev_serves_graphiql_and_the_demo_pipeline_with_a_printed_token(tmp_path: Path) -> None:
    # given a fresh data folder and no database or Redis configured
    port = free_port()

    # when pipegraph dev --demo starts
    with dev_demo(tmp_path, port) as process:
        token = wait_for_token(process, time.monotonic() + 60)
        url = f"http://127.0.0.1:{port}/graphql"
        wait_for_server(port)
        page = httpx.get(url, headers={"Accept": "text/html"})
        response = httpx.post(url, json={"query": DEMO_GRAPH}, headers={"Authorization": f"Bearer {token}"})

        # then GraphiQL is served, the token works and the demo pipeline is there with released apps
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        body = response.json()
        assert "errors" not in body, body
        assert body["data"]["viewer"]["email"] == "dev@localhost"
        stages = {stage["name"]: stage["apps"] for stage in body["data"]["pipeline"]["stages"]}
        assert [app["name"] for app in stages["PRODUCTION"]] == ["shop-admin", "shop-prod"]
        assert stages["STAGING"][0]["currentRelease"] == {"version": 2, "status": "SUCCEEDED"}
        assert (tmp_path / "data" / "pipegraph.sqlite3").exists()

    # and it shuts down cleanly on Ctrl-C
    assert process.returncode == 0


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_dev_stops_its_embedded_redis_however_it_is_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    # given pipegraph dev running with its embedded redis-server
    env = dev_env(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [PIPEGRAPH, "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    redis: list[int] = []
    try:
        wait_for_token(process, time.monotonic() + 60)
        wait_for_server(port)
        redis = [child for child in children(process.pid) if "redis-server" in command_of(child)]
        assert len(redis) == 1, [command_of(child) for child in children(process.pid)]

        # when it is stopped by Ctrl-C, or by SIGTERM as systemd and Docker stop it
        process.send_signal(stop)
        process.wait(timeout=30)

        # then it exits cleanly and its redis-server is gone too
        assert process.returncode == 0
        assert not alive(redis[0])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in redis:  # a leftover of this very test, never another process
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.stdout:
            process.stdout.close()


def test_dev_without_bubblewrap_runs_unsandboxed_and_says_so(tmp_path: Path) -> None:
    # given a laptop without bubblewrap (nothing on the PATH), and no PIPEGRAPH_SANDBOX setting
    env = dev_env(tmp_path)
    env["PATH"] = str(tmp_path)
    port = free_port()

    # when pipegraph dev starts, it serves all the same
    process = subprocess.Popen(
        [PIPEGRAPH, "dev", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    said = ""
    try:
        _, said = read_until_token(process, time.monotonic() + 60)
        wait_for_server(port)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=30)
            said += rest
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()

    # and it said loudly that app commands run without a sandbox, and why
    assert process.returncode == 0
    assert "UNSANDBOXED: app commands (release phase) run with pipegraph's own rights" in said
    assert "bwrap, setpriv, prlimit, timeout not found on PATH" in said


PROMOTE = "mutation($i: PromoteInput!) { promote(input: $i) { promotion { id } userErrors { message } } }"
NEWS = 'subscription { pipelineEvents(pipeline: "shop") { kind promotion { id status } } }'


def test_tokens_revoke_beside_dev_closes_its_open_sockets_before_anything_more_is_sent(tmp_path: Path) -> None:
    # given pipegraph dev --demo, and a second token of its user, used by a page following the pipeline's news
    port = free_port()
    with dev_demo(tmp_path, port) as process:
        admin = wait_for_token(process, time.monotonic() + 60)
        wait_for_server(port)
        env = dev_env(tmp_path)
        watcher = _cli(env, "tokens", "create", "--email", "dev@localhost", "--description", "watcher").strip()
        [watcher_id] = [
            line.split()[0]
            for line in _cli(env, "tokens", "list", "--email", "dev@localhost").splitlines()
            if "watcher" in line
        ]
        with connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"token": watcher}}))
            assert json.loads(ws.recv(timeout=30))["type"] == "connection_ack"
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": NEWS}}))
            first = _promote(port, admin)
            while _next_news(ws) != {"id": first, "status": "COMPLETED"}:  # the page is following, and caught up
                pass

            # when that token is revoked with `pipegraph tokens revoke` beside the server (no REDIS_URL set), and
            # another promotion starts as soon as the command returned
            _cli(env, "tokens", "revoke", watcher_id)
            _promote(port, admin)

            # then the page's socket is closed as revoked, before any news of the second promotion was sent on it
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=60)  # any message here is news sent to a revoked token
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401


def _cli(env: dict[str, str], *args: str) -> str:
    ran = subprocess.run([PIPEGRAPH, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def _promote(port: int, token: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": PROMOTE, "variables": {"i": {"source": "shop-dev"}}},
        headers={"Authorization": f"Bearer {token}"},
    )
    promote = response.json()["data"]["promote"]
    assert promote["userErrors"] == [], promote
    promotion_id: str = promote["promotion"]["id"]
    return promotion_id


def _next_news(ws: ClientConnection) -> dict[str, str]:
    message = json.loads(ws.recv(timeout=60))
    assert message["type"] == "next", message
    promotion: dict[str, str] = message["payload"]["data"]["pipelineEvents"]["promotion"]
    return promotion


def test_only_commands_on_devs_own_database_are_pointed_at_its_embedded_redis(tmp_path: Path) -> None:
    # given the embedded Redis a `pipegraph dev` on a SQLite file advertised in its data folder
    socket_path = tmp_path / "redis.sock"
    socket_path.touch()
    advertise_dev_redis(tmp_path, f"unix://{socket_path}", "sqlite:///data/pipegraph.sqlite3")

    # then a command on that database is pointed at it, one on another database is not (its token ids are not the
    # server's), and none is once the server is gone
    assert running_dev_redis(tmp_path, database_url="sqlite:///data/pipegraph.sqlite3") == f"unix://{socket_path}"
    assert running_dev_redis(tmp_path, database_url="postgres://db/other") is None
    socket_path.unlink()
    assert running_dev_redis(tmp_path, database_url="sqlite:///data/pipegraph.sqlite3") is None
