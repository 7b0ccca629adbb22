"""Following a cancelled test node's or build's log: what its worker printed is never lost to the window between the
cancel (the row is terminal at once) and the worker saving the output (within a second, when it notices)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds.log import BuildLog, follow_build_log
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.ci.log import TestLog, follow_test_log
from pipegraph.ci.models import TestNode, TestRun, TestRunStatus
from pipegraph.pipelines.models import Pipeline
from pipegraph.settings import Settings
from pipegraph.streams.hub import StreamHub

PRINTED = ["-----> Running tests", "waiting for the database"]


@dataclass
class Leased:
    """A row a worker ran under a lease, its log as that worker writes it, and how a page follows it."""

    save: Callable[[list[str]], Awaitable[None]]  # the worker keeping its output and releasing the lease
    publish: Callable[[str], Awaitable[None]]
    end: Callable[[], Awaitable[None]]
    follow: Callable[[StreamHub], AsyncIterator[list[str]]]


async def _test_node(redis: Redis, lease_expires_at: datetime) -> Leased:
    owner = await User.create(email="ci@example.com")
    run = await TestRun.create(
        pipeline=await Pipeline.create(name="shop", owner=owner),
        number=1,
        commit_sha="a" * 40,
        commit_branch="main",
        status=TestRunStatus.CANCELLED,
    )
    node = await TestNode.create(test_run_id=run.id, status=TestRunStatus.CANCELLED, lease_expires_at=lease_expires_at)
    log = TestLog(redis, node.id)

    async def save(lines: list[str]) -> None:
        await TestNode.filter(id=node.id).update(output="\n".join(lines), lease_expires_at=None)

    return Leased(
        save,
        log.line,
        lambda: log.end(TestRunStatus.CANCELLED),
        lambda hub: follow_test_log(hub, node.id, quiet_ms=100),
    )


async def _build(redis: Redis, lease_expires_at: datetime) -> Leased:
    owner = await User.create(email="builds@example.com")
    app = await App.create(name="shop-staging", owner=owner, stack="heroku-24", config_vars={})
    build = await Build.create(
        app=app,
        source_url="https://example.com/x.tgz",
        status=BuildStatus.FAILED,
        error_message="cancelled",
        lease_expires_at=lease_expires_at,
    )
    log = BuildLog(redis, build.id)

    async def save(lines: list[str]) -> None:
        await Build.filter(id=build.id).update(output="\n".join(lines), lease_expires_at=None)

    return Leased(
        save,
        log.line,
        lambda: log.end(BuildStatus.FAILED),
        lambda hub: follow_build_log(hub, build.id, quiet_ms=100),
    )


ROWS = pytest.mark.parametrize("make", [_test_node, _build], ids=["test node", "build"])


async def _collect(batches: AsyncIterator[list[str]]) -> list[str]:
    return [line async for lines in batches for line in lines]


@ROWS
async def test_a_row_cancelled_while_its_worker_holds_it_is_followed_until_its_output_is_kept(
    settings: Settings, make: Callable[[Redis, datetime], Awaitable[Leased]]
) -> None:
    # given a row cancelled (terminal) whose worker printed two lines and has not yet noticed
    hub = StreamHub(settings.redis_url or "")
    try:
        row = await make(hub.redis, datetime.now(UTC) + timedelta(minutes=5))
        for line in PRINTED:
            await row.publish(line)

        # when a page follows its log in that window, and the worker then keeps its output and ends the log
        following = asyncio.ensure_future(_collect(row.follow(hub)))
        await asyncio.sleep(0.3)
        await row.save([*PRINTED, " !     cancelled"])
        await row.publish(" !     cancelled")
        await row.end()
        async with asyncio.timeout(10):
            lines = await following
    finally:
        await hub.close()

    # then the page got every line the worker printed, not an empty log
    assert lines == [*PRINTED, " !     cancelled"]


@ROWS
async def test_a_terminal_row_whose_worker_died_gives_what_was_kept_without_waiting_for_ever(
    settings: Settings, make: Callable[[Redis, datetime], Awaitable[Leased]]
) -> None:
    # given a terminal row whose worker's lease ran out (it died) with nothing on its stream
    hub = StreamHub(settings.redis_url or "")
    try:
        row = await make(hub.redis, datetime.now(UTC) - timedelta(seconds=1))

        # when a page follows its log
        async with asyncio.timeout(10):
            lines = await _collect(row.follow(hub))
    finally:
        await hub.close()

    # then it ends at once with what was kept: nothing
    assert lines == []
