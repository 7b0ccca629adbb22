"""What operators watch: /healthz, /readyz (database, Redis, a worker), /metrics (Prometheus), structured logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from workers.runner import in_process_worker

from pipegraph.api.app import create_app
from pipegraph.logs import configure_logging, stop_logging
from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.ws_client import TRANSPORT_WS, subscribe
from tests.test_cli import free_port
from tests.test_document_limits import doubling_fragments

WHO = "query Who { viewer { email } }"


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, manage_db=False)
    # With the app's lifespan, as the `client` fixture: without it the app's Redis clients (the job queue, event
    # publishing) are never closed, and their sockets, collected in some later test, fail it or write a stray line.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield http


@pytest.fixture
async def metered(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with PIPEGRAPH_METRICS=true."""
    async with client_for(replace(settings, metrics=True)) as http:
        yield http


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


def sample(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


# --- probes -------------------------------------------------------------------------------------------------------


async def test_healthz_says_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_readyz_is_503_until_a_worker_has_checked_in(client: httpx.AsyncClient, settings: Settings) -> None:
    # given a database and Redis that answer, and no worker ever started (Redis was emptied)
    # when the orchestrator asks whether the API is ready
    response = await client.get("/readyz")

    # then it is not, saying which check fails and why
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "checks": {
            "database": "ok",
            "redis": "ok",
            "worker": "failing: no worker has checked in recently (run `pipegraph worker`)",
        },
    }

    # when a real arq worker runs (it writes its health check to Redis as it starts polling)
    async with in_process_worker(settings):
        for _ in range(200):
            response = await client.get("/readyz")
            if response.status_code == 200:
                break
            await asyncio.sleep(0.02)

        # then the API is ready
        assert response.json() == {"ready": True, "checks": {"database": "ok", "redis": "ok", "worker": "ok"}}

    # and a worker that stopped (arq removes its health key on a clean stop) makes it unready again
    assert (await client.get("/readyz")).status_code == 503


async def test_readyz_says_redis_is_down(settings: Settings) -> None:
    # given an API whose Redis is gone (nothing listens on its port)
    # (without the app's lifespan, which would wait for that Redis; nothing the app opens can reach it to leak)
    app = create_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"), manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        # when it is probed
        response = await http.get("/readyz")

    # then it is a 503 naming Redis and the reason
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("failing: ")
    assert "connect" in checks["redis"].lower(), checks
    assert checks["worker"] == "unknown: Redis does not answer"


# --- metrics ------------------------------------------------------------------------------------------------------


async def test_metrics_are_off_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404


async def test_operations_are_counted_by_name_and_outcome_with_their_latency(
    metered: httpx.AsyncClient, viewer: Actor
) -> None:
    gql = GraphQLClient(metered, viewer)
    before = await scrape(metered)

    # when a named query runs twice, and a fragment bomb under another name is refused
    await gql(WHO)
    await gql(WHO)
    await gql.raw(f"query Bomb {{ viewer {{ ...F0 }} }} {doubling_fragments(30)}")
    after = await scrape(metered)

    # then each is counted by name, type and outcome, and the queries' durations were observed
    def grew(key: tuple[str, frozenset[tuple[str, str]]]) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew(sample("pipegraph_graphql_operations_total", operation="Who", type="query", outcome="ok")) == 2
    assert grew(sample("pipegraph_graphql_operations_total", operation="Bomb", type="query", outcome="refused")) == 1
    assert grew(sample("pipegraph_graphql_operation_duration_seconds_count", operation="Who", type="query")) == 2


async def test_promotions_targets_and_the_job_queue_are_read_at_scrape_time(
    metered: httpx.AsyncClient, viewer: Actor, jobs: JobRunner
) -> None:
    # given a promotion to two production apps, its jobs queued and no worker running
    gql = GraphQLClient(metered, viewer)
    await shop_pipeline(gql)
    await deploy_release_script(gql, app="shop-staging", script="true\n")
    await jobs.drain()
    assert (await promote(gql, source="shop-staging"))["userErrors"] == []

    # when Prometheus scrapes
    figures = await scrape(metered)

    # then it reads the promotion and its targets by status, and the two queued jobs
    assert figures[sample("pipegraph_promotions", status="pending")] == 1
    assert figures[sample("pipegraph_promotions", status="completed")] == 0
    assert figures[sample("pipegraph_promotion_targets", status="pending")] == 2
    assert figures[sample("pipegraph_promotion_targets", status="succeeded")] == 0
    assert figures[sample("pipegraph_job_queue_depth")] == 2
    assert figures[sample("pipegraph_job_queue_oldest_age_seconds")] >= 0

    # and once a worker has run them, the figures follow
    await jobs.drain()
    figures = await scrape(metered)
    assert figures[sample("pipegraph_promotions", status="completed")] == 1
    assert figures[sample("pipegraph_promotion_targets", status="succeeded")] == 2
    assert figures[sample("pipegraph_job_queue_depth")] == 0


async def test_open_subscriptions_are_counted_while_they_last(
    metered: httpx.AsyncClient, viewer: Actor, live_server: str, jobs: JobRunner
) -> None:
    # given a promotion not yet worked on
    gql = GraphQLClient(metered, viewer)
    await shop_pipeline(gql)
    await deploy_release_script(gql, app="shop-staging", script="true\n")
    await jobs.drain()
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    gauge = sample("pipegraph_graphql_subscriptions_open")
    before = (await scrape(metered))[gauge]

    # when a client subscribes to its progress over a real WebSocket
    events = subscribe(
        live_server,
        "subscription($id: ID!) { promotionProgress(id: $id) { step } }",
        {"id": promotion_id},
        protocol=TRANSPORT_WS,
        init_payload=viewer.headers,
    )
    await anext(events)

    # then it is counted open, and no longer once the client has gone
    assert (await scrape(metered))[gauge] == before + 1
    await events.aclose()
    for _ in range(100):
        if (await scrape(metered))[gauge] == before:
            break
        await asyncio.sleep(0.02)
    assert (await scrape(metered))[gauge] == before


# --- logs ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The process's logging as `pipegraph serve` sets it up (JSON lines), restored afterwards."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(stream=stream)  # a StringIO is no terminal: JSON
    try:
        yield stream
    finally:
        stop_logging(handler)
        root.setLevel(level)


def lines_of(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_each_operation_is_a_json_line_with_request_id_operation_and_viewer(
    client: httpx.AsyncClient, viewer: Actor, log_lines: io.StringIO
) -> None:
    # when a client sends a named query with its own request id
    response = await client.post(
        "/graphql", json={"query": WHO}, headers={**viewer.headers, "X-Request-Id": "req-42.a_b"}
    )

    # then the response carries that id, and the operation's log line has it, the operation and the viewer
    assert response.headers["x-request-id"] == "req-42.a_b"
    [line] = [line for line in lines_of(log_lines) if line["logger"] == "pipegraph.graphql"]
    assert line["request_id"] == "req-42.a_b"
    assert line["operation"] == "Who"
    assert line["viewer_id"] == viewer.user.id
    assert line["outcome"] == "ok"
    assert line["level"] == "info"


@pytest.mark.parametrize("given", ["", "two words", "x" * 200, 'quote"and\ttab'])
async def test_a_request_id_that_could_forge_a_line_is_replaced(
    client: httpx.AsyncClient, viewer: Actor, log_lines: io.StringIO, given: str
) -> None:
    # when the caller's request id is missing, too long, or holds characters a log reader could trip on
    response = await client.post("/graphql", json={"query": WHO}, headers={**viewer.headers, "X-Request-Id": given})

    # then the server makes its own (32 hex digits) and logs with it
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    assert int(request_id, 16) >= 0
    assert lines_of(log_lines)[-1]["request_id"] == request_id
