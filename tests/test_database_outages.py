"""PostgreSQL unreachable for a few seconds under a live `pipegraph serve` and two `pipegraph worker`s, all reaching it
through a TCP proxy the test cuts: the API says so clearly, jobs are tried again, and nothing is left half-written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from graphql import GraphQLError
from redis.asyncio import Redis

from pipegraph.api.errors import MaskInternalErrors, should_mask_error
from pipegraph.db import UNAVAILABLE_MESSAGE
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from pipegraph.streams.logs import RELEASE_LOG
from tests.support.client_scene import free_port, spawn, wait_healthy
from tests.support.clients import GraphQLClient
from tests.support.database import is_postgres
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import SET_CONFIG_VARS, deploy_release_script, promote, shop_pipeline
from tests.support.sandbox import expected_log
from tests.support.servers import PIPEGRAPH, TcpProxy, pipegraph_environment, stop_process, until, worker_process

needs_postgres = pytest.mark.skipif(
    not is_postgres(), reason="a database to cut off over the network is PostgreSQL's (set TEST_DATABASE_URL)"
)
APPS = ("shop-admin", "shop-prod-eu")
VIEWER = "query { viewer { email } }"
SLOW_WHERE_SET = 'echo started\n[ -n "$SLOW" ] && sleep 3\necho migrated\n'


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[TcpProxy]:
    database = urlsplit(settings.database_url)
    started = await TcpProxy(database.hostname or "127.0.0.1", database.port or 5432).start()
    try:
        yield started
    finally:
        await started.stop()


def _through(settings: Settings, proxy: TcpProxy) -> Settings:
    database = urlsplit(settings.database_url)
    netloc = database.netloc.replace(f"{database.hostname}:{database.port}", f"127.0.0.1:{proxy.port}")
    return replace(settings, database_url=database._replace(netloc=netloc).geturl())


@needs_postgres
async def test_a_database_cut_mid_promotion_gets_clear_errors_then_completes_with_nothing_half_written(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, proxy: TcpProxy, tmp_path: Path
) -> None:
    # given production apps on v1, a slug whose release phase takes a while there, and a live API and two workers
    # reaching the database through the proxy
    await shop_pipeline(gql)
    for app in APPS:
        await deploy(gql, app=app, commit="old00000")
        await gql(SET_CONFIG_VARS, {"input": {"app": app, "vars": {"SLOW": "1"}}})
    await deploy_release_script(
        gql, app="shop-staging", script='echo started\n[ -n "$SLOW" ] && sleep 3\necho migrated\n'
    )
    await jobs.drain()
    proxied = _through(settings, proxy)
    workers = [worker_process(proxied, tmp_path / f"worker-{n}.log") for n in range(2)]
    port = free_port()
    env = pipegraph_environment(proxied, PIPEGRAPH_PUBLIC_URL=f"http://127.0.0.1:{port}")
    api = spawn([PIPEGRAPH, "serve", "--port", str(port)], env=env, log=tmp_path / "api.log")
    redis = Redis.from_url(settings.redis_url or "")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=gql.actor.headers, timeout=30)
    try:
        await asyncio.to_thread(wait_healthy, f"http://127.0.0.1:{port}", api, tmp_path / "api.log")
        promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]

        async def release_commands_running() -> bool:
            targets = await PromotionTarget.filter(release_id__isnull=False)
            streams = [RELEASE_LOG.stream(target.release_id) for target in targets if target.release_id]
            return len(streams) == len(APPS) and all([await redis.xlen(stream) for stream in streams])

        await until(release_commands_running, "both release commands printing their first line")

        # when the database is cut off for a few seconds
        proxy.sever()
        response = await http.post("/graphql", json={"query": VIEWER})
        await asyncio.sleep(4)
        proxy.restore()

        # then the API said so clearly meanwhile, and answers again once it is back
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        [error] = response.json()["errors"]
        assert error == {
            "message": "the database is unavailable: nothing was changed, try again in a few seconds",
            "extensions": {"code": "DATABASE_UNAVAILABLE"},
        }
        back = (await http.post("/graphql", json={"query": VIEWER})).json()
        assert back == {"data": {"viewer": {"email": gql.actor.user.email}}}

        # and the promotion completes: each app has one new release, current, and one copy of the slug
        async def completed() -> bool:
            return await Promotion.exists(status=PromotionStatus.COMPLETED)

        await until(completed, "the promotion completing after the database came back", seconds=120)
        assert promotion_id
        assert await PromotionTarget.filter(status=TargetStatus.SUCCEEDED).count() == len(APPS)
        for app in APPS:
            releases = await Release.filter(app__name=app).order_by("version")
            assert [(r.version, r.status, r.is_current) for r in releases] == [
                (1, ReleaseStatus.SUCCEEDED, False),
                (2, ReleaseStatus.SUCCEEDED, True),
            ], app
            # its release command ran once: its outcome waited for the database instead of being run again
            assert (releases[1].release_log.splitlines(), releases[1].attempts) == (
                expected_log("started", "migrated"),
                1,
            )
            assert await Slug.filter(app__name=app).count() == 2, app
        assert [process.poll() for process in [*workers, api]] == [None, None, None]
    finally:
        await http.aclose()
        await redis.aclose()
        for process in [*workers, api]:
            stop_process(process)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (ValueError("a bug"), False),
    ],
)
def test_an_error_inside_a_query_says_the_database_is_unavailable_only_when_it_is(
    error: Exception, unavailable: bool
) -> None:
    masked = MaskInternalErrors(should_mask_error=should_mask_error, error_message="Internal server error")
    shown = masked.anonymise_error(GraphQLError("raw", original_error=error))
    if unavailable:
        assert (shown.message, shown.extensions) == (UNAVAILABLE_MESSAGE, {"code": "DATABASE_UNAVAILABLE"})
    else:
        assert (shown.message, shown.extensions) == ("Internal server error", {})
