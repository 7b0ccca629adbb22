"""A live `pipegraph dev` (API, worker, SQLite, embedded Redis) in its own process, and the CLI run against it.

The people's CLI is tested as a user runs it: the real `pipegraph` entry point in a real process, with its own HOME,
against a real server over HTTP and WebSocket. The scene is set through the API itself (slugs need an upload).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.factories import CREATE_APP, CREATE_PIPELINE, CREATE_RELEASE, CREATE_SLUG
from tests.support.tarballs import checksum_of, tarball

PIPEGRAPH = str(Path(sys.executable).parent / "pipegraph")
RELEASE_PHASE = {"web": "./bin/web", "release": "./bin/release"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(data_dir: Path) -> dict[str, str]:
    """The test process's environment less anything pointing at the test database, Redis or an API login."""
    skipped = {"DATABASE_URL", "REDIS_URL", "PIPEGRAPH_API_URL", "PIPEGRAPH_API_TOKEN", "PIPEGRAPH_PUBLIC_URL"}
    env = {key: value for key, value in os.environ.items() if key not in skipped}
    env["PIPEGRAPH_DATA_DIR"] = str(data_dir)
    env["PIPEGRAPH_RELEASE_PHASE_TIMEOUT"] = "20"
    return env


@dataclass
class LiveApi:
    url: str
    token: str
    data_dir: Path
    home: Path

    def gql(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )
        body = response.json()
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    def user(self, email: str) -> str:
        """A token for `email` (the user made if new), by the server's own `pipegraph tokens create`."""
        made = subprocess.run(
            [PIPEGRAPH, "tokens", "create", "--email", email],
            env=server_env(self.data_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return made.stdout.strip()

    def cli_env(self, *, token: str | None = None, logged_in: bool = True) -> dict[str, str]:
        env = server_env(self.data_dir)
        env.pop("PIPEGRAPH_DATA_DIR")
        env["HOME"] = str(self.home)
        env["XDG_CONFIG_HOME"] = str(self.home / "config")
        if logged_in:
            env["PIPEGRAPH_API_URL"] = self.url
            env["PIPEGRAPH_API_TOKEN"] = token or self.token
        return env

    def cli(
        self,
        *args: str,
        token: str | None = None,
        input: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`pipegraph ARGS` as the dev user (or `token`'s user), logged in through the environment."""
        return subprocess.run(
            [PIPEGRAPH, *args],
            env=env or self.cli_env(token=token),
            input=input,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start_cli(self, *args: str, until: str) -> tuple[subprocess.Popen[str], list[str]]:
        """`pipegraph ARGS` left running once a line of its output contains `until`; returns it and the lines."""
        process = subprocess.Popen(
            [PIPEGRAPH, *args], env=self.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        seen = [process.stdout.readline()]
        while until not in seen[-1]:
            if not seen[-1]:
                process.kill()
                raise AssertionError(f"{args} ended before printing {until!r}: {seen}")
            seen.append(process.stdout.readline())
        return process, seen

    def create_app(self, name: str) -> None:
        errors = self.gql(CREATE_APP, {"input": {"name": name}})["createApp"]["userErrors"]
        assert errors == [], errors

    def pipeline(self, name: str, stages: dict[str, str]) -> None:
        """A pipeline of new apps, `{app: stage}`, the first one starting it."""
        apps = list(stages.items())
        for app, _ in apps:
            self.create_app(app)
        first, stage = apps[0]
        created = self.gql(CREATE_PIPELINE, {"input": {"name": name, "app": first, "stage": stage}})
        assert created["createPipeline"]["userErrors"] == [], created
        for app, stage in apps[1:]:
            added = self.gql(
                "mutation($i: AddAppToPipelineInput!) { addAppToPipeline(input: $i) { userErrors { message } } }",
                {"i": {"pipeline": name, "app": app, "stage": stage}},
            )
            assert added["addAppToPipeline"]["userErrors"] == [], added

    def deploy(self, app: str, *, commit: str, release_script: str = "echo released\n") -> dict[str, Any]:
        """A slug whose release phase runs `release_script`, uploaded and released as the next release of `app`."""
        data = tarball({"bin/release": "#!/bin/sh\n" + release_script, "bin/web": "#!/bin/sh\necho web\n"})
        slug_input = {
            "app": app,
            "checksum": checksum_of(data),
            "processTypes": RELEASE_PHASE,
            "commit": commit,
            "commitDescription": f"Change {commit[:7]}\n\nwith a body",
        }
        created = self.gql(CREATE_SLUG, {"input": slug_input})["createSlug"]
        assert created["userErrors"] == [], created
        assert httpx.put(created["uploadUrl"], content=data, timeout=30).status_code == 200
        released = self.gql(CREATE_RELEASE, {"input": {"app": app, "slug": created["slug"]["id"]}})["createRelease"]
        assert released["userErrors"] == [], released
        release: dict[str, Any] = released["release"]
        return release

    def wait_released(self, app: str, version: int) -> None:
        """Until the app's vN left PENDING (its release phase runs in the server's worker)."""
        query = "query($a: String!) { app(name: $a) { releases(first: 100) { edges { node { version status } } } } }"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            edges = self.gql(query, {"a": app})["app"]["releases"]["edges"]
            if any(e["node"]["version"] == version and e["node"]["status"] != "PENDING" for e in edges):
                return
            time.sleep(0.05)
        raise AssertionError(f"{app} v{version} stayed pending")


def start_dev(tmp: Path) -> Iterator[LiveApi]:
    """`pipegraph dev` on a free port with its own data folder; yields once it answers, stops it afterwards."""
    port = free_port()
    log = tmp / "dev.log"
    process = spawn([PIPEGRAPH, "dev", "--port", str(port)], env=server_env(tmp / "data"), log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not (token := _printed_token(log)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pipegraph dev printed no token:\n{log.read_text()}")
            time.sleep(0.05)
        wait_healthy(url, process, log)
        home = tmp / "home"
        home.mkdir()
        yield LiveApi(url=url, token=token, data_dir=tmp / "data", home=home)
    finally:
        stop(process)


def spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Output goes to a file, not a pipe nobody reads once the server is up: a full pipe would stall it.
    with log.open("a") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=output)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{process.args} did not come up:\n{log.read_text()}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _printed_token(log: Path) -> str | None:
    match = re.search(r"token:\s+(pgt_\S+)", log.read_text())
    return match.group(1) if match else None
