"""Garbage collection tuned for a long-running server, once its start-up is done (`serve`, `dev`, `worker`)."""

from __future__ import annotations

import gc

# Python collects the young generation every 700 new container objects. A large read builds hundreds of thousands of
# them (rows, dicts, results) that are freed by reference counting anyway, so it ran hundreds of collections per
# request, each walking every young object: the bulk read's p95 was 2.7-3.9x its median. Cycles are still collected,
# less often.
THRESHOLDS = (50_000, 20, 10)


def tune_after_startup() -> None:
    """Move everything start-up made (modules, the schema, settings) out of the collector's sight for good: those
    objects live as long as the process, and walking them in every full collection is wasted. Then raise the
    thresholds."""
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
