"""Test harness: real SQLite or PostgreSQL (TEST_DATABASE_URL), real Redis (TEST_REDIS_URL, else embedded).

Given / when / then in the tests; the API is exercised through the real ASGI app over httpx.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from tortoise.connection import connections

from pipegraph.accounts.models import User
from pipegraph.accounts.service import create_token, get_or_create_user
from pipegraph.api.app import create_app
from pipegraph.db import close_db, init_db, migrate
from pipegraph.redis import EmbeddedRedis
from pipegraph.settings import Settings

TABLES_CHILD_FIRST = [
    "pipeline_transfers",
    "pipeline_access_grants",
    "app_collaborators",
    "team_memberships",
    "promotion_targets",
    "promotions",
    "releases",
    "slugs",
    "pipeline_couplings",
    "pipelines",
    "apps",
    "teams",
    "api_tokens",
    "users",
]


def _database_url(tmp: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{tmp / 'test.sqlite3'}"


def is_postgres() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith(("postgres", "asyncpg"))


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipegraph")


@pytest.fixture(scope="session")
def redis_url(session_dir: Path) -> Iterator[str]:
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    embedded = EmbeddedRedis().start()
    try:
        yield embedded.url
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def base_settings(session_dir: Path, redis_url: str) -> Settings:
    return Settings.from_env(
        {
            "PIPEGRAPH_DATA_DIR": str(session_dir / "data"),
            "DATABASE_URL": _database_url(session_dir),
            "REDIS_URL": redis_url,
            "PIPEGRAPH_SECRET_KEY": "test-secret",
            "PIPEGRAPH_PUBLIC_URL": "http://testserver",
            "PIPEGRAPH_RELEASE_PHASE_TIMEOUT": "5",
        }
    )


async def _reset_postgres(url: str) -> None:
    """Start from an empty schema so the migrations themselves are exercised on every run."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def database(base_settings: Settings) -> AsyncIterator[str]:
    if is_postgres():
        await _reset_postgres(base_settings.database_url)
    await migrate(base_settings.database_url)
    await close_db()
    await init_db(base_settings.database_url)
    yield base_settings.database_url
    await close_db()


async def truncate_all() -> None:
    conn = connections.get("default")
    if is_postgres():
        await conn.execute_script(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)} RESTART IDENTITY CASCADE")
    else:
        for table in TABLES_CHILD_FIRST:
            await conn.execute_script(f"DELETE FROM {table}")


@pytest.fixture
async def settings(base_settings: Settings, database: str, tmp_path: Path) -> Settings:
    """Clean tables, an empty Redis and a fresh data folder for each test."""
    await truncate_all()
    redis = Redis.from_url(base_settings.redis_url or "")
    await redis.flushdb()
    await redis.aclose()
    return replace(base_settings, data_dir=tmp_path / "data")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class Actor:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_actor(email: str = "ada@example.com") -> Actor:
    user = await get_or_create_user(email)
    _, token = await create_token(user, description="test")
    return Actor(user=user, token=token)


@pytest.fixture
async def viewer(settings: Settings) -> Actor:
    return await make_actor()


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, actor: Actor) -> None:
        self.http = http
        self.actor = actor

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.actor.headers
        )
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a request that must succeed without GraphQL errors."""
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def gql(client: httpx.AsyncClient, viewer: Actor) -> GraphQLClient:
    return GraphQLClient(client, viewer)


class StatementCounter(logging.Handler):
    """Counts SQL statements as tortoise logs them (each executed statement is one debug record)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.split(None, 1)[:1] and message.split(None, 1)[0].upper() in {
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
        }:
            self.statements.append(message)


@pytest.fixture
def sql_statements() -> Iterator[StatementCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


# --- promotions and workers -------------------------------------------------------------------------------------


class JobRunner:
    """Runs the queued jobs with a real arq Worker in burst mode: it returns once the queue is empty."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def drain(self) -> None:
        from workers.runner import build_worker

        worker = build_worker(self.settings, burst=True, poll_delay=0)
        try:
            await worker.main()
        finally:
            await worker.close()


@pytest.fixture
def jobs(settings: Settings) -> JobRunner:
    return JobRunner(settings)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """The real app served by uvicorn on a free local port, in this event loop: WebSockets need a real server."""
    import asyncio
    import socket

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, manage_db=False), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
