"""What operators watch of the workers: their JSON log lines name the job and its rows, `pipegraph worker --check`
says whether a worker has checked in, and what workers time (release phases, builds) and subscribers wait (event
lag) reach the API's /metrics."""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from pipegraph.api.worker_metrics import RELEASE_PHASE_DURATION, observe, read_families
from pipegraph.logs import configure_logging, stop_logging
from pipegraph.promotions.models import Promotion, PromotionStatus
from pipegraph.promotions.service import PROMOTE_TARGETS
from pipegraph.settings import Settings
from tests.support.build_scene import PROCFILE_APP, source_tarball
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import checksum_of, create_app, deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.servers import PIPEGRAPH, pipegraph_environment, stop_process, until, worker_process
from tests.support.ws_client import TRANSPORT_WS, subscribe
from tests.test_builds_api import _create_build, _source
from tests.test_operator_endpoints import log_lines, metered, sample, scrape  # noqa: F401 - fixtures


def _check(settings: Settings, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PIPEGRAPH, "worker", "--check"],
        env=pipegraph_environment(settings, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _key(promotion_id: str) -> int:
    return int(base64.b64decode(promotion_id).decode().split(":")[1])


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for number, line in enumerate(text.splitlines()):
        try:
            lines.append(json.loads(line))
        except ValueError:
            rest = "\n".join(text.splitlines()[number : number + 40])
            raise AssertionError(f"not a JSON line: {line!r}, in:\n{rest}") from None
    return lines


async def test_one_promotion_is_followed_from_the_api_through_the_worker_json_lines(
    gql: GraphQLClient,
    settings: Settings,
    tmp_path: Path,
    log_lines: io.StringIO,  # noqa: F811 - the fixture imported above
) -> None:
    # given a real `pipegraph worker`, its output going to a file (no terminal: JSON)
    log = tmp_path / "worker.log"
    process = worker_process(settings, log)
    try:
        # when it runs a promotion to two apps
        await shop_pipeline(gql)
        await deploy(gql, app="shop-staging", commit="first000")
        promotion = _key((await promote(gql, source="shop-staging"))["promotion"]["id"])

        async def completed() -> bool:
            return (await Promotion.get(id=promotion)).status == PromotionStatus.COMPLETED

        await until(completed, "the promotion completing", seconds=90)

        async def job_done() -> bool:
            # the job's last line follows the promotion's completion: wait for it before stopping the worker
            return f'"{PROMOTE_TARGETS.name} done: promotion {promotion}:' in log.read_text()

        await until(job_done, "the promotion's job logging that it is done", seconds=90)
    finally:
        stop_process(process)
    assert process.returncode == 0  # stopped by SIGTERM, cleanly (a job cut off while starting included)

    # then the API's line for the promote mutation names the promotion
    [api_line] = [
        line
        for line in _json_lines(log_lines.getvalue())
        if line["logger"] == "pipegraph.graphql" and "promotion_id" in line
    ]
    assert api_line["promotion_id"] == promotion
    assert api_line["request_id"]
    assert api_line["outcome"] == "ok"

    # and every line of the worker is JSON; the job that worked the targets (no release phase: one job for all of
    # them, promotions/batch.py) logs with its job id, kind and promotion
    lines = _json_lines(log.read_text())
    [done] = [
        line
        for line in lines
        if line.get("job_kind") == PROMOTE_TARGETS.name and str(line["message"]).startswith(PROMOTE_TARGETS.name)
    ]
    assert done["promotion_id"] == promotion
    assert done["job_id"]
    assert done["job_try"] >= 1
    assert done["level"] == "info"
    assert done["logger"] == "workers.registry"
    assert {line["promotion_id"] for line in lines if "promotion_id" in line} == {promotion}


async def test_configuring_logs_replaces_its_own_handler_and_leaves_others_alone(
    caplog: pytest.LogCaptureFixture, jobs: JobRunner
) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    # when the in-process worker runs jobs, nothing about the process's logging changes
    await jobs.drain()
    assert (root.handlers, root.level) == (handlers, level)

    # when logging is configured twice (as `pipegraph dev` then a re-run might)
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    handler = configure_logging(stream=second)
    try:
        # then one handler of ours is on the root logger, pytest's are still there, and lines go once, to the second
        assert root.handlers == [*handlers, handler]
        with caplog.at_level(logging.INFO, logger="pipegraph.test"):
            logging.getLogger("pipegraph.test").info("once")
        assert first.getvalue() == ""
        [line] = _json_lines(second.getvalue())
        assert line["message"] == "once"
        assert [r.message for r in caplog.records if r.name == "pipegraph.test"] == ["once"]
    finally:
        stop_logging(handler)
        root.setLevel(level)
    assert root.handlers == handlers


async def test_worker_check_exits_zero_only_while_a_worker_checks_in(settings: Settings, tmp_path: Path) -> None:
    # given no worker: unhealthy, saying why
    missing = _check(settings)
    assert missing.returncode == 1
    assert missing.stderr.startswith("unhealthy: worker failing: no worker has checked in recently"), missing.stderr

    # when a worker runs, it is healthy (arq writes its health on its first poll)
    process = worker_process(settings, tmp_path / "worker.log")
    try:
        redis = Redis.from_url(settings.redis_url or "")

        async def checked_in() -> bool:
            return bool(await redis.exists("arq:queue:health-check"))

        await until(checked_in, "the worker checking in", seconds=60)
        await redis.aclose()
        healthy = _check(settings)
        assert healthy.returncode == 0, healthy.stderr
        assert healthy.stdout.startswith("healthy: ")
    finally:
        stop_process(process)


async def test_worker_check_says_when_redis_does_not_answer(settings: Settings) -> None:
    from tests.test_cli import free_port

    result = _check(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy: redis failing: "), result.stderr


async def test_worker_check_says_when_the_database_does_not_answer(settings: Settings, tmp_path: Path) -> None:
    result = _check(replace(settings, database_url=f"sqlite://{tmp_path / 'gone.sqlite3'}"))
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy: there is no database file at "), result.stderr


async def test_shared_histograms_add_up_across_observations(settings: Settings) -> None:
    # given observations from "two workers" (two clients) into one Redis
    first, second = Redis.from_url(settings.redis_url or ""), Redis.from_url(settings.redis_url or "")
    await observe(first, RELEASE_PHASE_DURATION, "succeeded", 0.3)
    await observe(second, RELEASE_PHASE_DURATION, "succeeded", 7.0)
    await observe(second, RELEASE_PHASE_DURATION, "failed", 5000.0)

    # then the scrape's buckets are cumulative, with the count and the sum of both
    [family] = [family for family in await read_families(first) if family.name == RELEASE_PHASE_DURATION.name]
    figures = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    bucket = "pipegraph_release_phase_duration_seconds_bucket"
    assert figures[(bucket, (("le", "0.1"), ("outcome", "succeeded")))] == 0
    assert figures[(bucket, (("le", "0.5"), ("outcome", "succeeded")))] == 1
    assert figures[(bucket, (("le", "10.0"), ("outcome", "succeeded")))] == 2
    assert figures[(bucket, (("le", "+Inf"), ("outcome", "succeeded")))] == 2
    assert math.isclose(figures[("pipegraph_release_phase_duration_seconds_sum", (("outcome", "succeeded"),))], 7.3)
    assert figures[(bucket, (("le", "1800.0"), ("outcome", "failed")))] == 0
    assert figures[("pipegraph_release_phase_duration_seconds_count", (("outcome", "failed"),))] == 1
    assert figures[("pipegraph_release_phase_duration_seconds_count", (("outcome", "timed_out"),))] == 0
    await first.aclose()
    await second.aclose()


async def test_release_phases_and_event_lag_reach_metrics(
    metered: httpx.AsyncClient,  # noqa: F811 - the fixture imported above
    viewer: Actor,
    live_server: str,
    jobs: JobRunner,
) -> None:
    # given a release phase that fails and one that succeeds, run by a worker
    gql = GraphQLClient(metered, viewer)
    await shop_pipeline(gql)
    await deploy_release_script(gql, app="shop-staging", script="exit 3\n", commit="bad00000")
    await deploy_release_script(gql, app="shop-staging", script="true\n", commit="good0000")
    await jobs.drain()

    # and a subscriber following a promotion as the worker runs it
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    events = subscribe(
        live_server,
        "subscription($id: ID!) { promotionProgress(id: $id) { status } }",
        {"id": promotion_id},
        protocol=TRANSPORT_WS,
        init_payload=viewer.headers,
    )
    await anext(events)
    lag_count = sample("pipegraph_event_lag_seconds_count")
    before = (await scrape(metered)).get(lag_count, 0)
    await jobs.drain()
    await anext(events)
    await events.aclose()

    # then the scrape has the release phases by outcome (1 failed, 1 + 2 promoted succeeded) and the events' lag
    figures = await scrape(metered)
    count = "pipegraph_release_phase_duration_seconds_count"
    assert figures[sample(count, outcome="failed")] == 1
    assert figures[sample(count, outcome="succeeded")] == 3
    assert figures[sample("pipegraph_release_phase_duration_seconds_sum", outcome="succeeded")] > 0
    assert figures[lag_count] > before
    assert figures[sample("pipegraph_event_lag_seconds_bucket", le="+Inf")] == figures[lag_count]


async def test_build_durations_reach_metrics(
    metered: httpx.AsyncClient,  # noqa: F811 - the fixture imported above
    viewer: Actor,
    jobs: JobRunner,
) -> None:
    # given a source built by a worker
    gql = GraphQLClient(metered, viewer)
    await create_app(gql, name="shop-staging")
    data = source_tarball(PROCFILE_APP, top="acme-shop-9f2c1e0")
    url, uploaded = await _source(gql, app="shop-staging", data=data)
    assert uploaded.status_code == 200, uploaded.text
    created = await _create_build(
        gql, app="shop-staging", sourceBlob={"url": url, "checksum": checksum_of(data), "version": "9f2c1e0"}
    )
    assert created["userErrors"] == []
    await jobs.drain()

    # then the scrape has one succeeded build, none failed
    figures = await scrape(metered)
    assert figures[sample("pipegraph_build_duration_seconds_count", outcome="succeeded")] == 1
    assert figures[sample("pipegraph_build_duration_seconds_count", outcome="failed")] == 0
    assert figures[sample("pipegraph_build_duration_seconds_sum", outcome="succeeded")] > 0


def test_warnings_and_errors_python_reports_itself_are_json_lines_too() -> None:
    # given a process set up as `pipegraph worker` sets itself up, that warns and drops an object whose __del__ fails
    script = """
import gc, warnings
from pipegraph.logs import capture_stray_output, configure_logging
configure_logging()
capture_stray_output()
warnings.warn("careful", UserWarning)
class Broken:
    def __del__(self):
        raise RuntimeError("collected badly")
Broken()
gc.collect()
raise SystemError("the end")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    # and then stops on an exception: all three reach stderr as JSON lines, not free text
    assert result.returncode == 1, result.stderr
    lines = _json_lines(result.stderr)
    assert [line["logger"] for line in lines] == ["py.warnings", "pipegraph.unraisable", "pipegraph.uncaught"]
    assert "careful" in str(lines[0]["message"])
    assert "collected badly" in str(lines[1]["exception"])
    assert "the end" in str(lines[2]["exception"])
