"""Running queued jobs in tests with a real arq worker."""

from __future__ import annotations

from pipegraph.settings import Settings


class JobRunner:
    """Runs the queued jobs with a real arq Worker in burst mode: it returns once the queue is empty."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def drain(self) -> None:
        from workers.runner import build_worker

        worker = build_worker(self.settings, burst=True, poll_delay=0)
        try:
            await worker.main()
        finally:
            await worker.close()
