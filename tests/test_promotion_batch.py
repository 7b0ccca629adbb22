"""A promotion without a release phase, worked by one job for all its targets: a constant number of statements,
the same events as a job per target, turns kept on apps with a pending release, and a batch that fails handing each
target to its own job."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from arq.connections import create_pool
from redis.asyncio import Redis
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from pipegraph.apps.models import App
from pipegraph.core.bulk import insert_copies
from pipegraph.promotions.execution import utcnow
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus, TargetStep
from pipegraph.promotions.recovery import reconcile
from pipegraph.redis import redis_settings
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.service import add_release_locked
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted, TargetChanges, TargetState
from tests.support.clients import Actor, GraphQLClient
from tests.support.database import is_postgres
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.servers import until
from tests.support.sql import StatementCounter

PRODUCTION = tuple(f"shop-prod-{n}" for n in range(6))
LATER = timedelta(hours=1)
# A batch's writes, whatever its target count: slugs, releases, apps, the releases no longer current, the targets,
# the promotion; SQLite claims the targets with one more (PostgreSQL locks them with a read: promotions/batch.py).
BATCH_WRITES = 6 if is_postgres() else 7


async def _events(settings: Settings, promotion_id: int) -> list[TargetState | PromotionCompleted]:
    """Every target event on the promotion's stream, in order, and its end."""
    redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:
        stream = PROMOTION_EVENTS.stream(promotion_id)
        entries = [PROMOTION_EVENTS.decode(fields) for _, fields in await redis.xrange(stream)]
    finally:
        await redis.aclose()
    return [event for entry in entries for event in (entry.targets if isinstance(entry, TargetChanges) else (entry,))]


def _steps(
    events: list[TargetState | PromotionCompleted], target_id: int
) -> list[tuple[TargetStatus, TargetStep, int]]:
    return [
        (event.status, event.step, event.sequence)
        for event in events
        if isinstance(event, TargetState) and event.id == target_id
    ]


WORKED = [
    (TargetStatus.RUNNING, TargetStep.QUEUED, 1),
    (TargetStatus.RUNNING, TargetStep.COPYING_SLUG, 2),
    (TargetStatus.RUNNING, TargetStep.UPDATING_STACK, 3),
    (TargetStatus.RUNNING, TargetStep.RELEASE_PHASE, 4),
]


async def test_many_targets_cost_the_statements_of_two(
    gql: GraphQLClient, jobs: JobRunner, sql_statements: StatementCounter
) -> None:
    # given staging deployed without a release phase, and six production apps
    await shop_pipeline(gql, production=PRODUCTION)
    await deploy(gql, app="shop-staging")

    # when it is promoted to two of them, then to all six
    counts = []
    for targets in (PRODUCTION[:2], PRODUCTION):
        assert (await promote(gql, source="shop-staging", to=list(targets)))["userErrors"] == []
        sql_statements.statements.clear()
        await jobs.drain()
        # Writes only: the reconciler's cron reads on each start of the worker, a different number of times.
        counts.append(len([s for s in sql_statements.statements if s.startswith(("INSERT", "UPDATE"))]))

    # then the worker wrote with as many statements for six targets as for two, and every target got its release
    assert counts[0] == counts[1] == BATCH_WRITES, counts
    assert await PromotionTarget.filter(status=TargetStatus.SUCCEEDED).count() == 8
    for name in PRODUCTION:
        app = await App.get(name=name)
        releases = await Release.filter(app_id=app.id).order_by("version")
        expected = 2 if name in PRODUCTION[:2] else 1
        assert [(r.version, r.status, r.is_current) for r in releases][-1] == (expected, ReleaseStatus.SUCCEEDED, True)
        assert app.release_count == expected
        assert await Slug.filter(app_id=app.id).count() == expected


async def test_a_lost_batch_is_found_again_as_one_batch(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, sql_statements: StatementCounter
) -> None:
    # given a promotion to six apps without a release phase, whose batch job Redis lost before a worker ran it
    await shop_pipeline(gql, production=PRODUCTION)
    await deploy(gql, app="shop-staging")
    await jobs.drain()
    await promote(gql, source="shop-staging", to=list(PRODUCTION))
    redis = Redis.from_url(settings.redis_url or "")
    await redis.flushdb()
    await redis.aclose()

    # when the reconciler finds its targets untouched, and a worker runs what it enqueued
    pool = await create_pool(redis_settings(settings.redis_url or ""))
    try:
        enqueued = await reconcile(pool, now=utcnow() + LATER)
    finally:
        await pool.aclose()
    sql_statements.statements.clear()
    await jobs.drain()

    # then one job worked all six targets, with the batch's writes, not six jobs' (a job each writes per target)
    assert enqueued == 1
    assert await PromotionTarget.filter(status=TargetStatus.SUCCEEDED, attempts=1).count() == len(PRODUCTION)
    assert len([s for s in sql_statements.statements if s.startswith(("INSERT", "UPDATE"))]) == BATCH_WRITES
    assert (await Promotion.get()).status == PromotionStatus.COMPLETED


async def test_subscribers_get_each_targets_steps_as_a_job_per_target_announces_them(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given a promotion without a release phase to two apps
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    await promote(gql, source="shop-staging")

    # when the worker runs it
    await jobs.drain()

    # then each target's events walk through every step in order, the last one is the target as saved, and the
    # promotion's end comes after all of them
    promotion = await Promotion.get()
    assert promotion.status == PromotionStatus.COMPLETED
    events = await _events(settings, promotion.id)
    for target in await PromotionTarget.filter(promotion_id=promotion.id):
        assert _steps(events, target.id) == [*WORKED, (TargetStatus.SUCCEEDED, TargetStep.DONE, 5)]
        last = [e for e in events if isinstance(e, TargetState) and e.id == target.id][-1]
        assert last == TargetState.of(target)
    assert events[-1] == PromotionCompleted()


def _statement(sql_statements: StatementCounter, start: str) -> str:
    """The one logged statement beginning with `start`, without the values tortoise logs after it."""
    [statement] = [s for s in sql_statements.statements if s.startswith(start)]
    return statement.rsplit(": [", 1)[0]


async def _generic_plan(sql: str) -> str:
    """How the database runs `sql` in a plan made for any values, as PostgreSQL plans a statement it runs often, and
    as SQLite plans one whose values tell it nothing (all null here)."""
    async with in_transaction() as connection:
        if not is_postgres():
            rows = await connection.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))
            return "\n".join(str(row["detail"]) for row in rows)
        # A test's few rows are read faster through no index: ask which index the plan can use, not whether it pays.
        await connection.execute_script(
            "SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off"
        )
        await connection.execute_script(f"PREPARE planned AS {sql}")
        try:
            nulls = ", ".join(["NULL"] * max(int(number) for number in re.findall(r"\$(\d+)", sql)))
            # In a savepoint: should EXPLAIN fail, the transaction can still DEALLOCATE, which no rollback undoes.
            async with in_transaction() as savepoint:
                rows = await savepoint.execute_query_dict(f"EXPLAIN EXECUTE planned({nulls})")
        finally:
            await connection.execute_script("DEALLOCATE planned")  # nothing of the session's is left on the connection
        return "\n".join(str(row["QUERY PLAN"]) for row in rows)


async def _plan(sql: str) -> str:
    """How the database runs `sql`, a statement with no values, planned for it alone."""
    async with in_transaction() as connection:
        if not is_postgres():
            rows = await connection.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row["detail"]) for row in rows)
        # A test's few rows are read faster through no index: ask which index the plan can use, not whether it pays.
        await connection.execute_script("SET LOCAL enable_seqscan = off")
        rows = await connection.execute_query_dict(f"EXPLAIN {sql}")
        return "\n".join(str(row["QUERY PLAN"]) for row in rows)


async def test_a_batch_reads_no_target_apps_history(
    gql: GraphQLClient, jobs: JobRunner, sql_statements: StatementCounter
) -> None:
    # given staging deployed without a release phase, and production apps running a release each
    await shop_pipeline(gql)
    for name in ("shop-admin", "shop-prod-eu", "shop-staging"):
        await deploy(gql, app=name)
    await jobs.drain()

    # when staging is promoted to them
    await promote(gql, source="shop-staging")
    sql_statements.statements.clear()
    await jobs.drain()

    # then whether each app has a release pending, the batch asks the index of the pending releases, even in a plan
    # made for any values: not each app's releases, one by one
    numbering = _statement(sql_statements, 'UPDATE "apps" SET "release_count"')
    assert "releases_pending" in await _generic_plan(numbering)
    # and which release is current, the index of current releases, in a statement that binds no value: planned for
    # its very apps each time, never run with a plan kept from when the table was small (which read every release)
    [no_longer_current] = [s for s in sql_statements.statements if s.startswith('UPDATE "releases" SET "is_current"')]
    statement, _, values = no_longer_current.rpartition(": ")
    assert values == "None"
    assert "releases_one_current_per_app" in await _plan(statement)


async def test_a_target_app_with_a_pending_release_waits_for_its_turn(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given a deploy into one production app still pending (its job lost), and staging deployed without a phase
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    await deploy_release_script(gql, app="shop-admin", script="echo migrated\n")
    redis = Redis.from_url(settings.redis_url or "")
    await redis.flushdb()
    await redis.aclose()

    # when staging is promoted and the worker runs the batch
    await promote(gql, source="shop-staging")
    await jobs.drain()

    # then the other app is done, and this one's release waits behind the deploy, its target parked
    admin = await PromotionTarget.get(app__name="shop-admin")
    assert (admin.status, admin.step, admin.lease_expires_at, admin.attempts) == (
        TargetStatus.RUNNING,
        TargetStep.RELEASE_PHASE,
        None,
        0,
    )
    assert (await PromotionTarget.get(app__name="shop-prod-eu")).status == TargetStatus.SUCCEEDED
    assert (await Release.get(id=admin.release_id)).status == ReleaseStatus.PENDING
    assert (await Promotion.get()).status == PromotionStatus.PENDING

    # when the deploy's job is found again and runs, and its end wakes the parked target
    pool = await create_pool(redis_settings(settings.redis_url or ""))
    try:
        await reconcile(pool, now=utcnow() + LATER)
    finally:
        await pool.aclose()
    await jobs.drain()

    # then both releases ran in version order, the promoted one last and current, and the promotion completed
    releases = await Release.filter(app__name="shop-admin").order_by("version")
    assert [(r.version, r.status, r.is_current) for r in releases] == [
        (1, ReleaseStatus.SUCCEEDED, False),
        (2, ReleaseStatus.SUCCEEDED, True),
    ]
    await admin.refresh_from_db()
    assert (admin.status, admin.attempts, admin.release_id) == (TargetStatus.SUCCEEDED, 1, releases[1].id)
    assert (await Promotion.get()).status == PromotionStatus.COMPLETED
    events = await _events(settings, admin.promotion_id)
    assert _steps(events, admin.id) == [
        *WORKED,
        (TargetStatus.RUNNING, TargetStep.RELEASE_PHASE, 5),  # claimed again once woken
        (TargetStatus.SUCCEEDED, TargetStep.DONE, 6),
    ]
    assert events[-1] == PromotionCompleted()


@pytest.mark.skipif(not is_postgres(), reason="row locks are PostgreSQL's: SQLite takes its one write lock first")
async def test_a_release_made_pending_while_the_batch_waits_for_its_app_is_waited_for(
    gql: GraphQLClient, jobs: JobRunner
) -> None:
    # given a production app deployed with a release phase, and staging deployed without one and promoted
    await shop_pipeline(gql)
    await deploy_release_script(gql, app="shop-admin", script="echo migrated\n")
    await deploy(gql, app="shop-staging")
    await jobs.drain()
    admin = await App.get(name="shop-admin")
    admin_slug = await Slug.get(app_id=admin.id)
    await promote(gql, source="shop-staging")

    # when a redeploy of the app holds its lock as the batch starts, and commits its pending release once the
    # batch waits for that lock
    holding, commit = asyncio.Event(), asyncio.Event()

    async def redeploy() -> None:
        async with in_transaction():
            await add_release_locked(app_id=admin.id, slug=admin_slug, description="redeploy", user_id=None)
            holding.set()
            await commit.wait()

    redeploying = asyncio.create_task(redeploy())
    await holding.wait()
    working = asyncio.create_task(jobs.drain())

    async def batch_waits() -> bool:
        sql = "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active'"
        return bool(await connections.get("default").execute_query_dict(sql))

    await until(batch_waits, "the batch waits for the app's lock")
    commit.set()
    await asyncio.gather(redeploying, working)

    # then the promoted release waits behind the redeploy, as when that one was pending before the batch began
    releases = await Release.filter(app_id=admin.id).order_by("version")
    assert [(r.version, r.description, r.status, r.is_current) for r in releases] == [
        (1, releases[0].description, ReleaseStatus.SUCCEEDED, True),
        (2, "redeploy", ReleaseStatus.PENDING, False),
        (3, "Promote shop-staging v1", ReleaseStatus.PENDING, False),
    ]
    target = await PromotionTarget.get(app_id=admin.id)
    assert (target.status, target.step) == (TargetStatus.RUNNING, TargetStep.RELEASE_PHASE)
    assert (await PromotionTarget.get(app__name="shop-prod-eu")).status == TargetStatus.SUCCEEDED


async def test_a_batch_that_fails_hands_each_target_to_its_own_job(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given a production app whose release count was set back, so its next release number is taken
    await shop_pipeline(gql)
    await deploy(gql, app="shop-admin")
    await App.filter(name="shop-admin").update(release_count=0)
    await deploy(gql, app="shop-staging")

    # when staging is promoted to it and to another app
    await promote(gql, source="shop-staging")
    await jobs.drain()

    # then the batch left nothing behind, and the other app was promoted by its own job, exactly once
    eu = await PromotionTarget.get(app__name="shop-prod-eu")
    assert (eu.status, eu.attempts) == (TargetStatus.SUCCEEDED, 1)
    assert await Release.filter(app__name="shop-prod-eu").count() == 1
    assert await Slug.filter(app__name="shop-prod-eu").count() == 1
    # and the broken one failed on its own, without a second release
    admin = await PromotionTarget.get(app__name="shop-admin")
    assert admin.status != TargetStatus.SUCCEEDED
    assert await Release.filter(app__name="shop-admin").count() == 1


async def test_each_target_gets_the_sources_slug_and_release_as_its_own(
    gql: GraphQLClient, jobs: JobRunner, viewer: Actor
) -> None:
    # given staging deployed without a release phase
    await shop_pipeline(gql, production=PRODUCTION)
    await deploy(gql, app="shop-staging", process_types={"web": "./bin/web", "worker": "./bin/worker"})
    await jobs.drain()
    source = await Release.get(app__name="shop-staging", is_current=True).prefetch_related("slug")

    # when it is promoted to every production app in one batch
    await promote(gql, source="shop-staging")
    await jobs.drain()

    # then each app has its own slug record of the same blob and a release of it, with the promotion's own values
    for target in await PromotionTarget.filter(promotion__source_app__name="shop-staging"):
        release = await Release.get(id=target.release_id).prefetch_related("slug")
        slug = release.slug
        assert (slug.id, slug.app_id) == (target.slug_id, target.app_id)
        copied = ("checksum", "size", "stack", "process_types", "commit", "commit_description", "uploaded_at")
        assert [getattr(slug, name) for name in copied] == [getattr(source.slug, name) for name in copied]
        assert (release.app_id, release.version, release.status, release.is_current) == (
            target.app_id,
            1,
            ReleaseStatus.SUCCEEDED,
            True,
        )
        assert (release.description, release.created_by_id, release.source_release_id) == (
            f"Promote shop-staging v{source.version}",
            viewer.user.id,
            source.id,
        )


async def test_copies_of_a_row_refuse_a_field_that_is_no_column(settings: Settings) -> None:
    # given a template target row
    template = PromotionTarget(promotion_id=1)

    # when its copies name the relation instead of its column
    async with in_transaction() as connection:
        with pytest.raises(ValueError, match="promotion_targets has no column field app$"):
            await insert_copies(connection, template, [{"app": 1}], key="app_id")

    # then nothing was written
    assert await PromotionTarget.all().count() == 0
