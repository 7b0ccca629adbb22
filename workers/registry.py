"""Binds each job kind to the function that runs it, and each cron job to its schedule, for arq.

A job function takes a typed `JobContext` and its row id; arq's untyped context dict stops here.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from pipegraph.jobs.queue import JobKind
from pipegraph.jobs.runtime import Runtime
from pipegraph.logs import log_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    runtime: Runtime
    redis: ArqRedis  # arq's pool: what a job enqueues more jobs on
    job_id: str
    job_try: int  # arq's count of runs of this job id, retries included


JobFunction = Callable[[JobContext, int], Awaitable[str]]
CronFunction = Callable[[JobContext], Awaitable[int]]


@dataclass(frozen=True)
class _Bound:
    kind: JobKind
    function: JobFunction
    max_tries: int


@dataclass(frozen=True)
class _Scheduled:
    function: CronFunction
    schedule: dict[str, Any]


_jobs: dict[str, _Bound] = {}
_crons: list[_Scheduled] = []


def job(kind: JobKind, *, max_tries: int = 5) -> Callable[[JobFunction], JobFunction]:
    """Run jobs of `kind` with the decorated function. `max_tries` counts arq's tries of one job id (a `Retry`, or a
    worker stopped mid-job); past that the reconciler, not arq, is the safety net."""

    def bind(function: JobFunction) -> JobFunction:
        if _jobs.setdefault(kind.name, _Bound(kind, function, max_tries)).function is not function:
            raise ValueError(f"job kind {kind.name!r} is bound twice")
        return function

    return bind


def every(**schedule: Any) -> Callable[[CronFunction], CronFunction]:
    """Run the decorated function on arq's cron `schedule` (second=, minute=, run_at_startup=, timeout=, …)."""

    def schedule_it(function: CronFunction) -> CronFunction:
        _crons.append(_Scheduled(function, schedule))
        return function

    return schedule_it


def bound_kinds() -> set[str]:
    return set(_jobs)


def _row_field(function: Callable[..., Awaitable[Any]]) -> str | None:
    # A job's row id is named by its parameter (`target_id`, `release_id`): the same name the API's lines use.
    parameters = list(inspect.signature(function).parameters)
    return parameters[1] if len(parameters) > 1 else None


def _for_arq(function: Callable[..., Awaitable[Any]], kind: str) -> WorkerCoroutine:
    row_field = _row_field(function)

    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        context = JobContext(runtime=ctx["runtime"], redis=ctx["redis"], job_id=ctx["job_id"], job_try=ctx["job_try"])
        # Every line logged while this job runs (arq's own about it included) says which job it is and for which
        # row. arq runs each job in its own task, whose copy of the context this changes and nothing else.
        fields: dict[str, Any] = {"job_id": context.job_id, "job_kind": kind, "job_try": context.job_try}
        if row_field and args:
            fields[row_field] = args[0]
        log_context(**fields)
        result = await function(context, *args)
        # A cron run that found nothing to do (every 15 s) is not worth an operator's line.
        quiet = kind.startswith("cron:") and not result
        logger.log(logging.DEBUG if quiet else logging.INFO, "%s done: %s", kind, result)
        return result

    return run


def arq_functions(job_timeout: float, timeouts: Mapping[str, float] | None = None) -> list[Function]:
    """`timeouts`: a longer limit for the kinds that need one (a build), by kind name."""
    limits = timeouts or {}
    # keep_result=0: a finished job frees its id at once, so the reconciler can enqueue a lost row again.
    return [
        func(
            _for_arq(bound.function, name),
            name=name,
            timeout=limits.get(name, job_timeout),
            keep_result=0,
            max_tries=bound.max_tries,
        )
        for name, bound in _jobs.items()
    ]


def arq_cron_jobs() -> list[CronJob]:
    return [
        cron(
            _for_arq(scheduled.function, f"cron:{scheduled.function.__name__}"),
            name=f"cron:{scheduled.function.__name__}",
            **scheduled.schedule,
        )
        for scheduled in _crons
    ]
