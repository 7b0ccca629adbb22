"""Build benchmark: `git push` of a small Procfile app to a SUCCEEDED release, against the floor of the same work.

    python bench/build.py                                   # SQLite
    BENCH_BUILD_DATABASE_URL=postgres://…/db python bench/build.py    # PostgreSQL: its public schema is DROPPED

Self-contained by default: SQLite and an embedded redis-server in a temporary folder, one `pipegraph serve` and two
`pipegraph worker` processes, the real git client pushing over HTTP. Ratios are printed, never asserted.

- push / floor: the median push (git's pack, http-backend, the hook's archive and POST, a build job with the
  built-in procfile buildpack, the slug packed, stored and released) against the floor of the same work by hand in
  one process: `git archive | tar -x`, a sha256 of the archive, one INSERT into the same kind of database (SQLite, or
  the PostgreSQL database over a connection opened beforehand, as the server's pool is). Aim: within 3x.
- push / plain push: the same against `git push` of the same commits to a bare repository with no hook over
  file:// (git's own cost, which no server can go below).
- 8 at once / 1: eight pushes to eight apps started together on two workers, against one push made just before
  them (rounds alternate, so both see the same load on a shared machine): the medians. Aim: within 2x.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from pipegraph.accounts.service import create_token, get_or_create_user
from pipegraph.db import close_db, init_db, migrate
from pipegraph.redis import EmbeddedRedis

BIN = Path(sys.executable).with_name("pipegraph")
ROUNDS = 7
PARALLEL = 8
PARALLEL_ROUNDS = 3
CREATE_APP = "mutation($i: CreateAppInput!) { createApp(input: $i) { userErrors { message } } }"
FILES = {
    "Procfile": "web: ./bin/web\n",
    "bin/web": "#!/bin/sh\necho serving\n",
    "README": "a small app\n",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }


async def _git(tree: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=tree, env=_git_env(tree), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {out.decode(errors='replace')}")
    return out.decode(errors="replace")


def _write_files(path: Path) -> None:
    path.mkdir(parents=True)
    for name, content in FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    (path / "bin" / "web").chmod(0o755)


async def _tree(path: Path) -> Path:
    _write_files(path)
    await _git(path, "init", "--quiet", "--initial-branch=main")
    await _commit(path, 0)
    return path


async def _commit(tree: Path, number: int) -> None:
    (tree / "VERSION").write_text(f"{number}\n")
    await _git(tree, "add", "-A")
    await _git(tree, "commit", "--quiet", "-m", f"Version {number}")


async def _push(tree: Path, remote: str) -> float:
    started = time.perf_counter()
    await _git(tree, "push", "--quiet", remote, "main")
    return time.perf_counter() - started


def _extract(tree: Path, scratch: Path, number: int) -> str:
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=tree, capture_output=True, check=True)
    target = scratch / f"floor-{number}"
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return hashlib.sha256(archive.stdout).hexdigest()


def _insert_sqlite(scratch: Path, digest: str) -> None:
    with sqlite3.connect(scratch / "floor.sqlite3") as db:
        db.execute("CREATE TABLE IF NOT EXISTS floor_slugs (checksum TEXT, commit_sha TEXT)")
        db.execute("INSERT INTO floor_slugs VALUES (?, ?)", (digest, "HEAD"))


async def _floor(tree: Path, scratch: Path, number: int, pg: asyncpg.Connection | None) -> float:
    """The same work by hand, in one process: the commit's tree extracted, its archive hashed, one row written."""
    started = time.perf_counter()
    digest = await asyncio.to_thread(_extract, tree, scratch, number)
    if pg is None:
        await asyncio.to_thread(_insert_sqlite, scratch, digest)
    else:
        await pg.execute("INSERT INTO floor_slugs VALUES ($1, $2)", digest, "HEAD")
    return time.perf_counter() - started


async def _floor_database() -> asyncpg.Connection | None:
    url = os.environ.get("BENCH_BUILD_DATABASE_URL")
    if not url:
        return None
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await connection.execute("CREATE TABLE IF NOT EXISTS floor_slugs (checksum TEXT, commit_sha TEXT)")
    return connection


def _start(command: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    output = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen([str(BIN), *command], env=env, stdout=output, stderr=output)


def _builds_done(log: Path) -> int:
    """Build jobs the worker writing `log` has finished so far (workers/registry.py logs each job's end)."""
    return log.read_text(errors="replace").count("run_build done:")


async def _wait_healthy(port: int) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(400):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("pipegraph serve did not start")


async def _database(scratch: Path) -> str:
    url = os.environ.get("BENCH_BUILD_DATABASE_URL")
    if not url:
        return f"sqlite://{scratch / 'bench.sqlite3'}"
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()
    return url


async def run(scratch: Path, redis_url: str) -> None:
    database_url = await _database(scratch)
    print(f"database: {database_url.split(':', 1)[0]}")
    await migrate(database_url)
    await close_db()
    await init_db(database_url)
    user = await get_or_create_user("bench@example.com")
    _, token = await create_token(user, description="bench")
    await close_db()
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PIPEGRAPH_DATA_DIR=str(scratch / "data"),
        PIPEGRAPH_SECRET_KEY="bench",
    )
    worker_logs = [scratch / "worker-1.log", scratch / "worker-2.log"]
    processes = [_start(["serve", "--port", str(port)], env)]
    processes += [_start(["worker"], env, log) for log in worker_logs]
    try:
        await _wait_healthy(port)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
            for name in ["bench-one", *(f"bench-par-{n}" for n in range(PARALLEL))]:
                response = await http.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": CREATE_APP, "variables": {"i": {"name": name}}}
                )
                assert response.json()["data"]["createApp"]["userErrors"] == [], response.text

        def remote(app: str) -> str:
            return f"http://git:{token}@127.0.0.1:{port}/git/{app}.git"

        one = await _tree(scratch / "one")
        await _push(one, remote("bench-one"))  # warm-up: the built-in buildpack is written once, imports load
        bare = scratch / "plain.git"
        await _git(scratch, "init", "--quiet", "--bare", str(bare))
        await _push(one, f"file://{bare}")
        pushes, floors, plains = [], [], []
        floor_db = await _floor_database()
        try:
            for number in range(1, ROUNDS + 1):
                await _commit(one, number)
                pushes.append(await _push(one, remote("bench-one")))
                plains.append(await _push(one, f"file://{bare}"))
                floors.append(await _floor(one, scratch, number, floor_db))
        finally:
            if floor_db is not None:
                await floor_db.close()
        push, floor, plain = statistics.median(pushes), statistics.median(floors), statistics.median(plains)
        print(f"git push -> SUCCEEDED release (median of {ROUNDS}, 2 workers)")
        print(f"  push {push * 1000:.0f} ms  floor {floor * 1000:.1f} ms  push/floor ratio {push / floor:.1f}")
        print(f"  plain git push {plain * 1000:.0f} ms  push/plain push ratio {push / plain:.1f}")

        trees = [await _tree(scratch / f"par-{n}") for n in range(PARALLEL)]
        ones, alls, shares = [], [], []
        for number in range(ROUNDS + 1, ROUNDS + 1 + PARALLEL_ROUNDS):
            await _commit(one, number)
            ones.append(await _push(one, remote("bench-one")))
            for tree in trees:
                await _commit(tree, number)
            before = [_builds_done(log) for log in worker_logs]
            started = time.perf_counter()
            await asyncio.gather(*(_push(tree, remote(f"bench-par-{n}")) for n, tree in enumerate(trees)))
            alls.append(time.perf_counter() - started)
            taken = [_builds_done(log) - done for log, done in zip(worker_logs, before, strict=True)]
            shares.append("/".join(map(str, taken)))
        single, together = statistics.median(ones), statistics.median(alls)
        print(f"{PARALLEL} pushes to {PARALLEL} apps at once (2 workers, median of {PARALLEL_ROUNDS})")
        print(f"  all {together * 1000:.0f} ms  one {single * 1000:.0f} ms  ratio {together / single:.2f}")
        print(f"  builds taken by each worker, per round: {'  '.join(shares)}")
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pipegraph-bench-build-") as folder:
        scratch = Path(folder)
        redis = EmbeddedRedis(scratch / "redis").start()
        try:
            asyncio.run(run(scratch, redis.url))
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
