"""Garbage collection tuned for a long-running server, once its start-up is done (`serve`, `dev`, `worker`)."""

from __future__ import annotations

import asyncio
import gc

# Python collects the young generation every 700 new container objects. A large read builds hundreds of thousands of
# them (rows, dicts, results) that are freed by reference counting anyway, so it ran hundreds of collections per
# request, each walking every young object: the bulk read's p95 was 2.7-3.9x its median. Cycles are still collected,
# less often.
THRESHOLDS = (50_000, 20, 10)

# Each request leaves cycles behind (graphql-core's execution context, uvicorn's request cycle, starlette's request:
# about 120 objects), that only a collection frees. Left to the thresholds above, the API's young generation grew to
# 50,000 objects between two collections, and freeing them took 20-38 ms in one go: a promotion's events waiting
# behind it reached their subscribers that much later. Collected every tenth of a second instead, each collection
# has the garbage of that tenth to free, about a millisecond's work under a steady stream of requests, and the
# thresholds stay what starts one in between (a large read's own allocations).
YOUNG_COLLECTION_SECONDS = 0.1
# Fewer young objects than this are not worth a collection: an idle process does none.
YOUNG_COLLECTION_MIN = 1_000


def tune_after_startup() -> None:
    """Move everything start-up made (modules, the schema, settings) out of the collector's sight for good: those
    objects live as long as the process, and walking them in every full collection is wasted. Then raise the
    thresholds."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def collect_due() -> int | None:
    """Collect the young generation, and the older ones too when their counts reach their thresholds; which
    generation was collected, or None when too little was young."""
    young, middle, old = gc.get_count()
    if young < YOUNG_COLLECTION_MIN:
        return None
    _, middle_threshold, old_threshold = gc.get_threshold()
    generation = 2 if old >= old_threshold else 1 if middle >= middle_threshold else 0
    gc.collect(generation)
    return generation


async def collect_young_regularly() -> None:
    """`collect_due` every YOUNG_COLLECTION_SECONDS, until cancelled (the API's lifespan runs it)."""
    while True:
        await asyncio.sleep(YOUNG_COLLECTION_SECONDS)
        collect_due()
