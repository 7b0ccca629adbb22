"""How far is a GraphQL read from the physical floor? Measured side by side, in one run, over real HTTP.

Seeds 20 pipelines × 4 stages × 5 apps × 10 releases, then times two reads against two real uvicorn servers:
- the pipegraph API (the real ASGI app: token check, strawberry, DataLoaders, tortoise);
- the floor: a bare Starlette route running one hand-written SQL query whose JSON the database builds
  (json_object/json_group_array on SQLite, json_build_object/json_agg on PostgreSQL), through the same driver.
The reads are (a) the dashboard: one pipeline, its stages, apps and current releases with slugs; (b) the bulk read:
all 20 pipelines with 10 releases per app. Both sides return the same JSON; the run checks that before timing.
Requests alternate between the sides so that machine noise lands on both alike.
A third read, (c) the web dashboard's own overview document (web/src/dashboard/operations.ts), has no hand-written
floor: it is timed against the same API with the compiled reads off (PIPEGRAPH_COMPILED_READS=false, the resolvers
alone), so its ratio is compiled / resolvers.

    python bench/graph_read.py                          # SQLite (a temporary file)
    python bench/graph_read.py --postgres postgres://postgres@127.0.0.1:5432/postgres
                                                        # and PostgreSQL, in a database `bench_graph` it creates
                                                        # and drops (BENCH_POSTGRES_URL works too; the database's
                                                        # name is BENCH_GRAPH_DATABASE when set, so that two runs
                                                        # sharing a server do not drop each other's database)
    python bench/graph_read.py --profile                # and where the GraphQL side spends its time (pyinstrument)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

# BENCH_GRAPH_DATABASE names another one, so that two runs on one server do not drop each other's.
BENCH_DATABASE = os.environ.get("BENCH_GRAPH_DATABASE", "bench_graph")

DASHBOARD_GRAPHQL = """
query Dashboard($name: String!) {
  pipeline(name: $name) {
    name
    stages {
      name
      apps { name stack currentRelease { version status slug { commit checksum processTypes } } }
    }
  }
}"""

BULK_GRAPHQL = """
query Bulk {
  pipelines(first: 20) {
    edges {
      node {
        name
        stages {
          name
          apps {
            name
            currentRelease { version slug { commit } }
            releases(first: 10) { edges { node { version } } }
          }
        }
      }
    }
  }
}"""

# The floor queries build the very JSON the GraphQL side returns. On SQLite a subquery's result loses its "this is
# JSON" subtype, hence json(...) around each nested subquery; json_group_array keeps the order of its ordered source.
STAGE_ROWS = "('review', 0), ('development', 1), ('staging', 2), ('production', 3)"  # delivery order
SQLITE_STAGES = f"WITH stages(name, ord) AS (VALUES {STAGE_ROWS})"

SQLITE_DASHBOARD = f"""{SQLITE_STAGES}
SELECT json_object('data', json_object('pipeline', json_object(
  'name', p.name,
  'stages', json((
    SELECT json_group_array(json_object(
      'name', upper(s.name),
      'apps', json((
        SELECT json_group_array(json_object(
          'name', a.name,
          'stack', a.stack,
          'currentRelease', json((
            SELECT json_object('version', r.version, 'status', upper(r.status), 'slug', json_object(
              'commit', sl."commit", 'checksum', sl.checksum, 'processTypes', json(sl.process_types)))
            FROM releases r JOIN slugs sl ON sl.id = r.slug_id
            WHERE r.app_id = a.id AND r.is_current))))
        FROM (SELECT a.* FROM pipeline_couplings c JOIN apps a ON a.id = c.app_id
              WHERE c.pipeline_id = p.id AND c.stage = s.name ORDER BY a.name) a))))
    FROM (SELECT name FROM stages ORDER BY ord) s))))) AS body
FROM pipelines p WHERE p.name = ?"""

SQLITE_BULK = f"""{SQLITE_STAGES}
SELECT json_object('data', json_object('pipelines', json_object('edges', json_group_array(json_object('node',
  json_object(
    'name', p.name,
    'stages', json((
      SELECT json_group_array(json_object(
        'name', upper(s.name),
        'apps', json((
          SELECT json_group_array(json_object(
            'name', a.name,
            'currentRelease', json((
              SELECT json_object('version', r.version, 'slug', json_object('commit', sl."commit"))
              FROM releases r JOIN slugs sl ON sl.id = r.slug_id
              WHERE r.app_id = a.id AND r.is_current)),
            'releases', json_object('edges', json((
              SELECT json_group_array(json_object('node', json_object('version', r.version)))
              FROM (SELECT version FROM releases r WHERE r.app_id = a.id ORDER BY version DESC LIMIT 10) r)))))
          FROM (SELECT a.* FROM pipeline_couplings c JOIN apps a ON a.id = c.app_id
                WHERE c.pipeline_id = p.id AND c.stage = s.name ORDER BY a.name) a))))
      FROM (SELECT name FROM stages ORDER BY ord) s)))))))) AS body
FROM (SELECT * FROM pipelines ORDER BY name LIMIT 20) p"""

POSTGRES_STAGES = f"(VALUES {STAGE_ROWS}) AS s(name, ord)"

POSTGRES_DASHBOARD = f"""
SELECT json_build_object('data', json_build_object('pipeline', json_build_object(
  'name', p.name,
  'stages', (
    SELECT json_agg(json_build_object(
      'name', upper(s.name),
      'apps', (
        SELECT coalesce(json_agg(json_build_object(
          'name', a.name,
          'stack', a.stack,
          'currentRelease', (
            SELECT json_build_object('version', r.version, 'status', upper(r.status), 'slug', json_build_object(
              'commit', sl."commit", 'checksum', sl.checksum, 'processTypes', sl.process_types))
            FROM releases r JOIN slugs sl ON sl.id = r.slug_id
            WHERE r.app_id = a.id AND r.is_current)) ORDER BY a.name), '[]')
        FROM pipeline_couplings c JOIN apps a ON a.id = c.app_id
        WHERE c.pipeline_id = p.id AND c.stage = s.name)) ORDER BY s.ord)
    FROM {POSTGRES_STAGES})))) AS body
FROM pipelines p WHERE p.name = $1"""

POSTGRES_BULK = f"""
SELECT json_build_object('data', json_build_object('pipelines', json_build_object('edges', json_agg(
  json_build_object('node', json_build_object(
    'name', p.name,
    'stages', (
      SELECT json_agg(json_build_object(
        'name', upper(s.name),
        'apps', (
          SELECT coalesce(json_agg(json_build_object(
            'name', a.name,
            'currentRelease', (
              SELECT json_build_object('version', r.version, 'slug', json_build_object('commit', sl."commit"))
              FROM releases r JOIN slugs sl ON sl.id = r.slug_id
              WHERE r.app_id = a.id AND r.is_current),
            'releases', json_build_object('edges', (
              SELECT coalesce(json_agg(json_build_object('node', json_build_object('version', r.version))
                                       ORDER BY r.version DESC), '[]')
              FROM (SELECT version FROM releases r WHERE r.app_id = a.id ORDER BY version DESC LIMIT 10) r))
          ) ORDER BY a.name), '[]')
          FROM pipeline_couplings c JOIN apps a ON a.id = c.app_id
          WHERE c.pipeline_id = p.id AND c.stage = s.name)) ORDER BY s.ord)
      FROM {POSTGRES_STAGES}))) ORDER BY p.name)))) AS body
FROM (SELECT * FROM pipelines ORDER BY name LIMIT 20) p"""


@dataclass(frozen=True)
class Read:
    name: str
    graphql: str
    variables: dict[str, Any]
    path: str  # the floor server's route; "" for a read timed against the resolvers instead
    requests: int


# ---------------------------------------------------------------------------------------------------------------------
# The servers, each run by this file in its own process:
# `graph_read.py serve graphql|resolvers|floor DATABASE_URL PORT DIR`


def floor_app(database_url: str) -> Any:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from tortoise.connection import connections

    from pipegraph.db import close_db, init_db

    postgres = database_url.startswith(("postgres", "asyncpg"))
    dashboard_sql = POSTGRES_DASHBOARD if postgres else SQLITE_DASHBOARD
    bulk_sql = POSTGRES_BULK if postgres else SQLITE_BULK

    async def body_of(sql: str, values: list[Any] | None = None) -> Response:
        rows = await connections.get("default").execute_query_dict(sql, values)
        # The database built the JSON: the route only hands its text on.
        return Response(rows[0]["body"] if rows else '{"data": null}', media_type="application/json")

    async def dashboard(request: Request) -> Response:
        return await body_of(dashboard_sql, [request.query_params["name"]])

    async def bulk(request: Request) -> Response:
        return await body_of(bulk_sql)

    async def healthz(request: Request) -> Response:
        return Response("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await init_db(database_url)  # the same tortoise set-up, so the same driver and pool as the API
        try:
            yield
        finally:
            await close_db()

    return Starlette(
        routes=[Route("/dashboard", dashboard), Route("/bulk", bulk), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


def bench_settings(database_url: str, data_dir: Path, *, compiled: bool = True) -> Any:
    from pipegraph.settings import Settings

    # No REDIS_URL: reads need no Redis, and the API opens no job queue without one.
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "PIPEGRAPH_DATA_DIR": str(data_dir),
            "PIPEGRAPH_SECRET_KEY": "bench",
            "PIPEGRAPH_COMPILED_READS": "true" if compiled else "false",
        }
    )


def serve(kind: str, database_url: str, port: int, data_dir: Path) -> None:
    import uvicorn

    from pipegraph.api.app import create_app

    if kind == "floor":
        app = floor_app(database_url)
    else:  # "graphql", or "resolvers": the same API with the compiled reads off
        app = create_app(bench_settings(database_url, data_dir, compiled=kind == "graphql"))
    if kind != "floor":
        from pipegraph.gctune import tune_after_startup

        tune_after_startup()  # as `pipegraph serve` does
    # The same server settings on both sides; no access log, which would cost each side a line per request.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(kind: str, database_url: str, data_dir: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", kind, database_url, str(port), str(data_dir)],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the {kind} server exited with code {process.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------------------------------------
# Databases: created for the run, seeded once, dropped at the end.


def postgres_url_for(base_url: str, database: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def recreate_postgres_database(base_url: str, *, drop_only: bool = False) -> None:
    import asyncpg

    # Connect to the server's maintenance database: one cannot drop the database one is connected to.
    admin_url = postgres_url_for(base_url, "postgres").replace("postgres://", "postgresql://", 1)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        if not drop_only:
            await connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    finally:
        await connection.close()


async def prepare(database_url: str, data_dir: Path, reads: list[Read], profile: bool) -> tuple[str, dict[str, int]]:
    """Migrate and seed; return a token, and the statements each GraphQL read costs (counted in-process)."""
    from pipegraph.accounts.service import create_token, get_or_create_user
    from pipegraph.api.app import create_app
    from pipegraph.db import close_db, init_db, migrate
    from pipegraph.slugs.store import LocalSlugStore
    from pipegraph.testing.seed import LARGE, seed_graph
    from pipegraph.testing.statements import count_statements

    settings = bench_settings(database_url, data_dir)
    await migrate(database_url)
    await close_db()
    await init_db(database_url)
    try:
        started = time.perf_counter()
        owner = await get_or_create_user("bench@example.com")
        _, token = await create_token(owner, description="bench")
        await seed_graph(LARGE, owner=owner, store=LocalSlugStore(settings.slug_dir))
        print(f"  seeded in {time.perf_counter() - started:.1f} s")

        statements: dict[str, int] = {}
        transport = httpx.ASGITransport(app=create_app(settings, manage_db=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for read in reads:
                # Counted on a second request: the first also records the token's use (once a minute, not per read).
                await graphql_request(client, token, read)
                with count_statements() as log:
                    await graphql_request(client, token, read)
                statements[read.name] = len(log.statements)
            if profile:
                await profile_reads(client, token, reads)
        return token, statements
    finally:
        await close_db()


def prepare_in_process(
    database_url: str, data_dir: Path, reads: list[Read], profile: bool
) -> tuple[str, dict[str, int]]:
    return asyncio.run(prepare(database_url, data_dir, reads, profile))


async def graphql_request(client: httpx.AsyncClient, token: str, read: Read) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": read.graphql, "variables": read.variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"{read.name}: {body['errors']}")
    return body


async def profile_reads(client: httpx.AsyncClient, token: str, reads: list[Read]) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("  --profile needs pyinstrument: pip install -e '.[dev]'")
        return
    for read in reads:
        profiler = Profiler(async_mode="enabled")
        with profiler:
            for _ in range(10 if read.name == "bulk" else 100):
                await graphql_request(client, token, read)
        print(f"\n  where the GraphQL {read.name} read spends its time (in-process, no HTTP):")
        print(profiler.output_text(unicode=True, color=False, short_mode=True, show_all=False))


# ---------------------------------------------------------------------------------------------------------------------
# Measuring


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(graphql_url: str, floor_url: str, token: str, read: Read, warmup: int) -> tuple[list[float], list[float]]:
    """Both sides' times; `floor_url` is the resolvers' API for a read without a floor route."""
    graphql_times: list[float] = []
    floor_times: list[float] = []
    payload = {"query": read.graphql, "variables": read.variables}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=graphql_url, timeout=60) as api, httpx.Client(base_url=floor_url, timeout=60) as floor:

        def other() -> httpx.Response:
            if not read.path:
                return floor.post("/graphql", json=payload, headers=headers)
            return floor.get(read.path, params=read.variables)

        def graphql_once() -> float:
            started = time.perf_counter()
            response = api.post("/graphql", json=payload, headers=headers)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            return elapsed

        def floor_once() -> float:
            started = time.perf_counter()
            response = other()
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            return elapsed

        # Same data on both sides, or the comparison means nothing.
        graphql_body = api.post("/graphql", json=payload, headers=headers).json()
        floor_body = other().json()
        if graphql_body != floor_body:
            raise RuntimeError(f"{read.name}: the floor (or the resolvers) returns other data than the GraphQL read")

        for _ in range(warmup):
            graphql_once()
            floor_once()
        for number in range(read.requests):
            # Alternate who goes first, so neither side always follows the other's garbage or cache effects.
            if number % 2:
                graphql_times.append(graphql_once())
                floor_times.append(floor_once())
            else:
                floor_times.append(floor_once())
                graphql_times.append(graphql_once())
    return graphql_times, floor_times


def run_backend(label: str, database_url: str, reads: list[Read], warmup: int, profile: bool) -> None:
    print(f"\n{label}: 20 pipelines × 4 stages × 5 apps × 10 releases")
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        data_dir = Path(tmp) / "data"
        # Tortoise keeps per-dialect state in its model classes past close_connections(): each backend is prepared
        # in a fresh process, so SQLite's placeholders never leak into PostgreSQL's statements.
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            token, statements = pool.submit(prepare_in_process, database_url, data_dir, reads, profile).result()
        with (
            server("graphql", database_url, data_dir) as graphql_url,
            server("floor", database_url, data_dir) as floor,
            server("resolvers", database_url, data_dir) as resolvers,
        ):
            header = (
                f"  {'read':<10}{'requests':>9}{'statements':>12}"
                f"{'GraphQL p50 / p95 ms':>24}{'SQL floor p50 / p95 ms':>26}{'ratio p50 (p95)':>18}  aim"
            )
            print(header)
            for read in reads:
                other = floor if read.path else resolvers
                graphql_times, floor_times = measure(graphql_url, other, token, read, warmup)
                g50, g95 = (percentile(graphql_times, q) * 1000 for q in (0.5, 0.95))
                f50, f95 = (percentile(floor_times, q) * 1000 for q in (0.5, 0.95))
                aim = f"≤ {AIMS[read.name]}" if read.name in AIMS else "(vs resolvers)"
                print(
                    f"  {read.name:<10}{read.requests:>9}{statements[read.name]:>12}"
                    f"{f'{g50:.2f} / {g95:.2f}':>24}{f'{f50:.2f} / {f95:.2f}':>26}"
                    f"{f'{g50 / f50:.2f} ({g95 / f95:.2f})':>18}  {aim}"
                )


# Issue 13's aims for the p50 ratio.
AIMS = {"dashboard": 1.3, "bulk": 1.5}


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        metavar="URL",
        help=f"a PostgreSQL server to measure too; the run uses its own database `{BENCH_DATABASE}` there",
    )
    parser.add_argument("--requests", type=int, default=300, help="timed dashboard requests per side")
    parser.add_argument("--bulk-requests", type=int, default=40, help="timed bulk requests per side")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per side first")
    parser.add_argument("--profile", action="store_true", help="profile the GraphQL reads in-process (pyinstrument)")
    args = parser.parse_args()

    from pipegraph.testing.seed import DASHBOARD_PIPELINE
    from pipegraph.testing.web_operations import web_document

    reads = [
        Read("dashboard", DASHBOARD_GRAPHQL, {"name": DASHBOARD_PIPELINE}, "/dashboard", args.requests),
        Read("bulk", BULK_GRAPHQL, {}, "/bulk", args.bulk_requests),
        Read("overview", web_document("PipelineOverview"), {"name": DASHBOARD_PIPELINE}, "", args.requests),
    ]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-graph-sqlite-") as tmp:
        run_backend("SQLite (aiosqlite)", f"sqlite://{tmp}/bench.sqlite3", reads, args.warmup, args.profile)
    if args.postgres:
        asyncio.run(recreate_postgres_database(args.postgres))
        try:
            database_url = postgres_url_for(args.postgres, BENCH_DATABASE)
            run_backend("PostgreSQL (asyncpg)", database_url, reads, args.warmup, args.profile)
        finally:
            asyncio.run(recreate_postgres_database(args.postgres, drop_only=True))
    else:
        print("\n(PostgreSQL skipped: give --postgres URL or set BENCH_POSTGRES_URL)")
    elapsed = time.perf_counter() - started
    print(
        "\nratio = GraphQL / SQL floor (overview: compiled / resolvers, in the floor's columns); "
        f"statements = SQL statements per GraphQL request; {elapsed:.0f} s in all"
    )


if __name__ == "__main__":
    main()
