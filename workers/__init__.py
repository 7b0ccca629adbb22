"""The arq worker process, whole: `arq workers.WorkerSettings` or `pipegraph worker` runs it.

`registry` binds job kinds to functions, `jobs` and `cron` are those functions, `settings` is what arq runs, and
`runner` runs the same worker inside another process's event loop (`pipegraph dev`, tests).
"""

from workers.settings import WorkerSettings

__all__ = ["WorkerSettings"]
