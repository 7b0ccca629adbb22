"""Test harness: real SQLite or PostgreSQL (TEST_DATABASE_URL), real Redis (TEST_REDIS_URL, else embedded).

Given / when / then in the tests; the API is exercised through the real ASGI app over httpx.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from pipegraph.api.app import create_app
from pipegraph.db import close_db, init_db, migrate
from pipegraph.redis import EmbeddedRedis
from pipegraph.sandbox import Sandbox, SandboxSettings, open_sandbox
from pipegraph.settings import Settings
from tests.support.browser import (
    BROWSER_EXPECT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LOOPBACK_HOSTS,
    BrowserPage,
    require_browser,
)
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.database import is_postgres, truncate_all
from tests.support.jobs import JobRunner
from tests.support.sandbox import BUBBLEWRAP_PROBLEM, SANDBOX_MODE
from tests.support.sql import StatementCounter


def pytest_report_header() -> str:
    if BUBBLEWRAP_PROBLEM is None:
        return "app commands: in the bubblewrap sandbox"
    return f"app commands: UNSANDBOXED, bubblewrap cannot run here ({BUBBLEWRAP_PROBLEM}); sandbox tests skip"


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return open_sandbox(SandboxSettings(mode=SANDBOX_MODE))


def _database_url(tmp: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite://{tmp / 'test.sqlite3'}"


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
            "PIPEGRAPH_SANDBOX": SANDBOX_MODE,
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
    # httpx does not run the app's lifespan: run it here, so its Redis connections are opened and closed as served.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


@pytest.fixture
async def viewer(settings: Settings) -> Actor:
    return await make_actor()


@pytest.fixture
def gql(client: httpx.AsyncClient, viewer: Actor) -> GraphQLClient:
    return GraphQLClient(client, viewer)


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


@pytest.fixture
def jobs(settings: Settings) -> JobRunner:
    return JobRunner(settings)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """The real app served by uvicorn on a free local port, in this event loop: WebSockets need a real server."""
    async with serve_app(settings) as host:
        yield host


@contextlib.asynccontextmanager
async def serve_app(settings: Settings) -> AsyncIterator[str]:
    """As `live_server`, for a test that needs the app under settings of its own."""
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


# --- a real browser -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def browser(base_settings: Settings) -> AsyncIterator[Any]:
    """One Debian Chromium per test module (never a downloaded browser build), driven by Playwright."""
    require_browser(base_settings)
    from playwright.async_api import async_playwright, expect

    # Playwright's 5 s default for assertions is shorter than a page load on a loaded 2-core CI machine; a failing
    # assertion waits longer, a passing one no longer.
    expect.set_options(timeout=BROWSER_EXPECT_MS)

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser_page(browser: Any, live_server: str) -> AsyncIterator[BrowserPage]:
    from urllib.parse import urlsplit

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    async def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK_HOSTS:
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort()

    await context.route("**/*", only_loopback)
    page = await context.new_page()
    try:
        yield BrowserPage(page=page, base_url=f"http://{live_server}", blocked=blocked)
    finally:
        await context.close()


@pytest.fixture
async def git_server(live_server: str, settings: Settings) -> AsyncIterator[str]:
    """A live API with an in-process worker beside it: a push's build runs while the push waits for it."""
    from workers.runner import in_process_worker

    async with in_process_worker(settings):
        yield live_server


# --- GitHub, stood in for by a local server ------------------------------------------------------------------------


@pytest.fixture
async def github() -> AsyncIterator[Any]:
    from tests.support.github_server import fake_github

    async with fake_github() as server:
        yield server


def github_settings(settings: Settings, github: Any, **options: str) -> Settings:
    from pipegraph.settings import GitHubSettings

    return replace(settings, github=GitHubSettings(api_url=github.url, **({"token": "ghp_test"} | options)))


@pytest.fixture
async def github_scene(settings: Settings, github: Any, viewer: Actor, tmp_path: Path) -> AsyncIterator[Any]:
    """The API and workers configured with a token for the stand-in GitHub, and a scene to drive them."""
    async with scene_of(github_settings(settings, github), github, viewer, tmp_path) as scene:
        yield scene


# PIPEGRAPH_WAIT_FOR_CI_TIMEOUT, tiny: the tests wait for the state the deadline leads to, never for a time.
IMPATIENT = 0.01


@pytest.fixture
async def impatient_scene(settings: Settings, github: Any, viewer: Actor, tmp_path: Path) -> AsyncIterator[Any]:
    """A GitHub scene whose waits for CI have a deadline of IMPATIENT seconds."""
    configured = github_settings(settings, github)
    configured = replace(configured, github=replace(configured.github, wait_for_ci_timeout=IMPATIENT))
    async with scene_of(configured, github, viewer, tmp_path) as scene:
        yield scene


@contextlib.asynccontextmanager
async def scene_of(configured: Settings, github: Any, viewer: Actor, tmp_path: Path) -> AsyncIterator[Any]:
    """A GitHub scene whose API and workers run with `configured` (github_settings, and whatever a test changes)."""
    from tests.support.github_scene import GitHubScene

    app = create_app(configured, manage_db=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield GitHubScene(
            gql=GraphQLClient(http, viewer),
            http=http,
            github=github,
            jobs=JobRunner(configured),
            work=tmp_path / "repo",
        )
