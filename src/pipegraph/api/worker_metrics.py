"""Histograms the workers observe and the API's /metrics exposes, kept in Redis between the two.

A worker's own registry would be lost with it and is not what a scrape of the API reads, so each observation is
added to one Redis hash per metric and label value: a count per bucket (cumulative, as Prometheus wants them), the
count and the sum. Every worker adds to the same hash, and every API replica reports the same shared figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prometheus_client.core import HistogramMetricFamily, Metric
from redis.asyncio import Redis

KEY_PREFIX = "pipegraph:metrics:"
# Release phases and builds take seconds to minutes, up to their timeouts.
DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass(frozen=True)
class SharedHistogram:
    name: str
    documentation: str
    label: str
    values: tuple[str, ...]  # the label's values, fixed so a scrape lists them all (and keys stay bounded)
    buckets: tuple[float, ...] = DURATION_BUCKETS

    def key(self, value: str) -> str:
        return f"{KEY_PREFIX}{self.name}:{value}"


RELEASE_PHASE_DURATION = SharedHistogram(
    "pipegraph_release_phase_duration_seconds",
    "Time a release phase command ran, by outcome (succeeded, failed, timed_out)",
    "outcome",
    ("succeeded", "failed", "timed_out"),
)
BUILD_DURATION = SharedHistogram(
    "pipegraph_build_duration_seconds",
    "Time a build ran its buildpacks, by outcome (succeeded, failed)",
    "outcome",
    ("succeeded", "failed"),
)
SHARED_HISTOGRAMS = (RELEASE_PHASE_DURATION, BUILD_DURATION)


def _bucket_field(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


async def observe(redis: Redis, histogram: SharedHistogram, value: str, seconds: float) -> None:
    """Add one observation; a single MULTI so a scrape never sees a bucket counted without the total."""
    if value not in histogram.values:
        raise ValueError(f"{histogram.name}: {value!r} is not one of {histogram.values}")
    async with redis.pipeline(transaction=True) as pipe:
        key = histogram.key(value)
        for bound in (*histogram.buckets, math.inf):
            if seconds <= bound:
                pipe.hincrby(key, _bucket_field(bound), 1)
        pipe.hincrby(key, "count", 1)
        pipe.hincrbyfloat(key, "sum", seconds)
        await pipe.execute()


async def read_families(redis: Redis) -> list[Metric]:
    """The shared histograms as they stand, for a scrape (zeros for a label value nothing was observed under)."""
    families: list[Metric] = []
    for histogram in SHARED_HISTOGRAMS:
        family = HistogramMetricFamily(histogram.name, histogram.documentation, labels=[histogram.label])
        async with redis.pipeline(transaction=False) as pipe:
            for value in histogram.values:
                pipe.hgetall(histogram.key(value))
            stored = await pipe.execute()
        for value, fields in zip(histogram.values, stored, strict=True):
            counts = {_text(field): _text(number) for field, number in fields.items()}
            buckets = [
                (_bucket_field(bound), float(counts.get(_bucket_field(bound), 0)))
                for bound in (*histogram.buckets, math.inf)
            ]
            family.add_metric([value], buckets, sum_value=float(counts.get("sum", 0)))
        families.append(family)
    return families


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
