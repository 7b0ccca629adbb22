"""Prometheus metrics (PIPEGRAPH_METRICS=true): GraphQL operations as they run, the rest read at scrape time.

Operations are counted in this process by an extension of the schema; promotions and targets by status come from
the database and the job queue from arq's Redis sorted set when /metrics is scraped, so every API replica reports
the same shared state and nothing is kept that could drift from it. What the workers time (release phases) they add
to Redis (api/worker_metrics.py), read here too; the lag of events to subscribers is timed where they are delivered.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType
from tortoise.functions import Count

from pipegraph.api.health import CHECK_TIMEOUT, redis_client
from pipegraph.api.worker_metrics import read_families
from pipegraph.logs import log_context
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus
from pipegraph.settings import Settings
from pipegraph.streams.hub import EVENT_LAG

logger = logging.getLogger("pipegraph.graphql")

# Registered in no global registry: each scrape assembles its own, so creating several apps in one process (tests)
# never registers a metric twice.
OPERATIONS = Counter(
    "pipegraph_graphql_operations",
    "GraphQL operations by name, type and outcome (ok, error: ran with errors, refused: did not pass validation)",
    ["operation", "type", "outcome"],
    registry=None,
)
DURATION = Histogram(
    "pipegraph_graphql_operation_duration_seconds",
    "Time from receiving a query or mutation to its result",
    ["operation", "type"],
    registry=None,
)
OPEN_SUBSCRIPTIONS = Gauge("pipegraph_graphql_subscriptions_open", "Subscriptions being served now", registry=None)

# Operation names come from clients: only well-formed ones, and only so many, become label values.
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
MAX_OPERATION_NAMES = 500
_seen_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "invalid"
    if name not in _seen_names:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
    return name


class ObserveOperations(SchemaExtension):
    """Counts, times and logs each operation; subscriptions are counted open from execution to their end."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self.subscribed = False
        try:
            yield
        finally:
            self._record(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        observe_execution(context)
        if context.operation_type == OperationType.SUBSCRIPTION and not self.subscribed:
            self.subscribed = True
            OPEN_SUBSCRIPTIONS.inc()
        yield

    def _record(self, seconds: float) -> None:
        if self.subscribed:
            OPEN_SUBSCRIPTIONS.dec()
        record_operation(self.execution_context, seconds)


def observe_execution(context: ExecutionContext) -> None:
    """What ObserveOperations does as execution starts, for a query (the fast path's too: api/fast_path.py)."""
    viewer = getattr(context.context, "viewer", None)
    log_context(operation=operation_label(context.operation_name), viewer_id=getattr(viewer, "id", None))


def record_operation(context: ExecutionContext, seconds: float) -> None:
    """Counts, times and logs one finished operation."""
    try:
        kind = context.operation_type.value
    except Exception:
        kind = "unknown"
    name = operation_label(context.operation_name)
    if context.pre_execution_errors:
        outcome = "refused"
    elif context.result is not None and context.result.errors:
        outcome = "error"
    else:
        outcome = "ok"
    OPERATIONS.labels(name, kind, outcome).inc()
    if kind != "subscription":
        DURATION.labels(name, kind).observe(seconds)
    logger.info(
        "graphql %s %s %s in %.1f ms",
        kind,
        name,
        outcome,
        seconds * 1000,
        extra={"operation": name, "operation_type": kind, "outcome": outcome, "duration_ms": seconds * 1000},
    )


class Snapshot(Collector):
    """Figures read once for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def _by_status(model: type[Promotion] | type[PromotionTarget], statuses: Iterable[str]) -> dict[str, int]:
    rows = await model.all().group_by("status").annotate(n=Count("id")).values_list("status", "n")
    counts = dict.fromkeys(statuses, 0)
    counts.update({str(status): int(n) for status, n in rows})
    return counts


async def _database_families() -> list[Metric]:
    promotions = GaugeMetricFamily("pipegraph_promotions", "Promotions by status", labels=["status"])
    for status, n in (await _by_status(Promotion, PromotionStatus)).items():
        promotions.add_metric([status], n)
    targets = GaugeMetricFamily("pipegraph_promotion_targets", "Promotion targets by status", labels=["status"])
    for status, n in (await _by_status(PromotionTarget, TargetStatus)).items():
        targets.add_metric([status], n)
    return [promotions, targets]


async def _queue_families(redis_url: str | None) -> list[Metric]:
    depth = GaugeMetricFamily("pipegraph_job_queue_depth", "Jobs waiting in arq's queue (deferred ones included)")
    age = GaugeMetricFamily(
        "pipegraph_job_queue_oldest_age_seconds", "How long the oldest job that is due has waited (0 when none)"
    )
    if redis_url:
        from arq.constants import default_queue_name

        async def read(redis: Redis) -> tuple[int, list[tuple[bytes, float]], list[Metric]]:
            # One after the other on one connection: a timeout cancels one call, and leaves no other running.
            size = await redis.zcard(default_queue_name)
            oldest = await redis.zrange(default_queue_name, 0, 0, withscores=True)
            return size, oldest, await read_families(redis)

        async with redis_client(redis_url) as redis:
            size, oldest, from_workers = await asyncio.wait_for(read(redis), CHECK_TIMEOUT)
        depth.add_metric([], size)
        # A job's score is the time (ms) it is due: enqueued, or deferred to.
        due_ms = oldest[0][1] if oldest else time.time() * 1000
        age.add_metric([], max(0.0, time.time() - due_ms / 1000))
        return [depth, age, *from_workers]
    return [depth, age]


async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    registry = CollectorRegistry(auto_describe=False)
    for collector in (OPERATIONS, DURATION, OPEN_SUBSCRIPTIONS, EVENT_LAG):
        registry.register(collector)
    read = [_database_families(), _queue_families(settings.redis_url)]
    families: list[Metric] = []
    for source, result in zip(("database", "redis"), await asyncio.gather(*read, return_exceptions=True), strict=True):
        # The process's own figures are still worth a scrape when the database or Redis does not answer.
        if isinstance(result, BaseException):
            logger.warning("metrics: could not read the %s: %s", source, result)
        else:
            families.extend(result)
    registry.register(Snapshot(families))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
