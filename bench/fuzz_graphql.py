"""Fuzz the live GraphQL API with schemathesis and fail on any server error (`make fuzz`; not part of `make test`).

Starts `pipegraph dev --demo` (SQLite and an embedded Redis in a temporary folder, a demo pipeline, a token) on a free
local port, then runs `st run` against /graphql with that token: schemathesis generates queries and mutations from the
schema (introspection) with a fixed budget and seed, and checks that no answer is a 5xx. Exits with schemathesis's
status, so a server error fails the run.

    python bench/fuzz_graphql.py [--examples 25] [--seed 1] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
TOKEN = re.compile(r"token:\s+(\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """`pipegraph dev --demo` on `port`; returns the process and the token it printed."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env["PIPEGRAPH_DATA_DIR"] = str(data_dir)
    server = subprocess.Popen(
        [str(BIN / "pipegraph"), "dev", "--demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    for line in server.stdout:
        if match := TOKEN.search(line):
            break
        if time.monotonic() > deadline:
            break
    else:
        match = None
    if match is None:
        server.kill()
        raise SystemExit("pipegraph dev did not print a token")
    # Keep reading what it prints (one access-log line a request), or its pipe fills and the server stalls.
    threading.Thread(target=lambda: [None for _ in server.stdout or ()], daemon=True).start()
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server, match.group(1)
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("pipegraph dev did not answer /healthz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=25, help="generated cases per query or mutation field")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pipegraph-fuzz-") as tmp:
        port = free_port()
        server, token = start_server(Path(tmp) / "data", port)
        try:
            command = [
                str(BIN / "st"),
                "run",
                f"http://127.0.0.1:{port}/graphql",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                str(args.examples),
                "--seed",
                str(args.seed),
                "--workers",
                str(args.workers),
                "--no-shrink",
            ]
            # The hooks teach schemathesis pipegraph's `JSON` scalar.
            hooks = {"SCHEMATHESIS_HOOKS": "fuzz_hooks", "PYTHONPATH": str(Path(__file__).resolve().parent)}
            # Run in the temporary folder: schemathesis keeps a cache in its working directory.
            return subprocess.run(command, env={**os.environ, **hooks}, cwd=tmp, check=False).returncode
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
