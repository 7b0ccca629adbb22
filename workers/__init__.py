"""arq worker entry point: `arq workers.WorkerSettings` (or `pipegraph worker`)."""

from pipegraph.worker import WorkerSettings

__all__ = ["WorkerSettings"]
