"""Histograms the workers observe and the API's /metrics exposes, kept in Redis between the two.

A worker's own registry would be lost with it and is not what a scrape of the API reads, so each observation is
added to one Redis hash per metric: for each label value, a count per bucket (cumulative, as Prometheus wants them),
the count and the sum. The fields are fixed by the buckets and label values, so the hash stays small however many
observations are added; every worker adds to the same hash, and every API replica reports the same shared figures.

One observation is one Lua call and one scrape one HGETALL per metric: no client-side pipeline, so a scrape or a job
cancelled mid-way leaves no half-used connection behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from prometheus_client.core import HistogramMetricFamily, Metric
from redis.asyncio import Redis

KEY_PREFIX = "pipegraph:metrics:"
# Release phases and builds take seconds to minutes, up to their timeouts.
DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

# KEYS[1]: the hash; ARGV[1]: the seconds; ARGV[2..]: the fields to add 1 to (the buckets it falls in and the count).
_OBSERVE = """
for i = 3, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class SharedHistogram:
    name: str
    documentation: str
    label: str
    values: tuple[str, ...]  # the label's values, fixed so a scrape lists them all (and the hash stays bounded)
    buckets: tuple[float, ...] = DURATION_BUCKETS

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.name

    @property
    def bounds(self) -> tuple[float, ...]:
        return (*self.buckets, math.inf)


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


def _field(value: str, part: float | str) -> str:
    if isinstance(part, float):
        part = "+Inf" if math.isinf(part) else repr(part)
    return f"{value}|{part}"


async def observe(redis: Redis, histogram: SharedHistogram, value: str, seconds: float) -> None:
    """Add one observation, atomically: a scrape never sees a bucket counted without the total."""
    if value not in histogram.values:
        raise ValueError(f"{histogram.name}: {value!r} is not one of {histogram.values}")
    fields = [_field(value, bound) for bound in histogram.bounds if seconds <= bound]
    await redis.eval(  # type: ignore[misc]  # redis-py types eval as sync-or-async
        _OBSERVE, 1, histogram.key, repr(float(seconds)), _field(value, "sum"), _field(value, "count"), *fields
    )


async def read_families(redis: Redis) -> list[Metric]:
    """The shared histograms as they stand, for a scrape (zeros for a label value nothing was observed under)."""
    families: list[Metric] = []
    for histogram in SHARED_HISTOGRAMS:
        stored = await redis.hgetall(histogram.key)  # type: ignore[misc]
        counts = {_text(field): float(_text(number)) for field, number in stored.items()}
        family = HistogramMetricFamily(histogram.name, histogram.documentation, labels=[histogram.label])
        for value in histogram.values:
            buckets = [
                (_field(value, bound).partition("|")[2], counts.get(_field(value, bound), 0.0))
                for bound in histogram.bounds
            ]
            family.add_metric([value], buckets, sum_value=counts.get(_field(value, "sum"), 0.0))
        families.append(family)
    return families


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
