"""Faults: a worker killed mid-release-phase, lost jobs, and many promotions racing into one app."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

from arq.connections import ArqRedis, create_pool
from redis.asyncio import Redis
from workers.runner import in_process_worker

from pipegraph.apps.models import App
from pipegraph.jobs.runtime import MAX_ATTEMPTS, gave_up_message
from pipegraph.promotions.execution import utcnow
from pipegraph.promotions.models import Promotion, PromotionStatus, PromotionTarget, TargetStatus
from pipegraph.promotions.recovery import reconcile
from pipegraph.redis import redis_settings
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from pipegraph.streams.logs import RELEASE_LOG, LogEnd
from pipegraph.streams.promotion import PROMOTION_EVENTS, PromotionCompleted, TargetChanges, TargetState
from pipegraph.streams.publish import E, Topic
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app, deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import SET_CONFIG_VARS, deploy_release_script, promote, shop_pipeline
from tests.support.sandbox import expected_log
from tests.support.servers import until, worker_process

LATER = timedelta(hours=1)  # the reconciler's view of "now", past every lease and grace period


async def _arq_pool(settings: Settings) -> ArqRedis:
    return await create_pool(redis_settings(settings.redis_url or ""))


async def test_a_worker_killed_mid_release_phase_delays_but_never_loses_the_promotion(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given production on v1 and a slug whose release phase takes a while in production
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-prod-eu", commit="old00000")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-prod-eu", "vars": {"MODE": "production"}}})
    script = 'if [ "$MODE" = production ]; then echo started; sleep 2; fi\necho finished\n'
    await deploy_release_script(gql, app="shop-staging", script=script)
    await jobs.drain()
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    target = await PromotionTarget.get(app__name="shop-prod-eu")

    # when a separate worker process is SIGKILLed in the middle of the release phase
    worker = worker_process(settings, settings.data_dir.parent / "worker.log")
    redis = Redis.from_url(settings.redis_url or "")
    try:

        async def release_phase_started() -> bool:
            await target.refresh_from_db()
            if target.release_id is None:
                return False
            return bool(await redis.xrange(RELEASE_LOG.stream(target.release_id)))

        await until(release_phase_started, "the release phase printing its first line")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        await redis.aclose()
    await target.refresh_from_db()
    assert target.status == TargetStatus.RUNNING
    assert (await Release.get(id=target.release_id)).status == ReleaseStatus.PENDING

    # and the reconciler runs (past the lease) and a fresh worker picks the target up
    pool = await _arq_pool(settings)
    try:
        assert await reconcile(pool, now=utcnow() + LATER) == 1
    finally:
        await pool.aclose()
    async with in_process_worker(settings):

        async def target_done() -> bool:
            await target.refresh_from_db()
            return target.status.terminal

        await until(target_done, "the target finishing after the takeover")

    # then there is exactly one new release, it succeeded after a complete release phase, and it is current
    assert target.status == TargetStatus.SUCCEEDED
    assert target.attempts == 2
    releases = await Release.filter(app__name="shop-prod-eu").order_by("version")
    assert [(r.version, r.status, r.is_current) for r in releases] == [
        (1, ReleaseStatus.SUCCEEDED, False),
        (2, ReleaseStatus.SUCCEEDED, True),
    ]
    assert releases[1].id == target.release_id
    assert releases[1].release_log.split("\n") == expected_log("started", "finished")
    assert promotion_id


async def test_jobs_lost_with_redis_are_enqueued_again_by_the_reconciler(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given a promotion whose jobs Redis lost before any worker ran them
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    await promote(gql, source="shop-staging")
    redis = Redis.from_url(settings.redis_url or "")
    await redis.flushdb()
    await redis.aclose()
    await jobs.drain()
    assert await PromotionTarget.filter(status=TargetStatus.PENDING).count() == 2

    # when the reconciler runs (one job: the promotion's batch, as first enqueued) and then a worker
    pool = await _arq_pool(settings)
    try:
        assert await reconcile(pool, now=utcnow() + LATER) == 1
    finally:
        await pool.aclose()
    await jobs.drain()

    # then both targets are done, each with one release
    assert await PromotionTarget.filter(status=TargetStatus.SUCCEEDED).count() == 2
    assert await Release.filter(app__name__in=["shop-admin", "shop-prod-eu"]).count() == 2


async def test_concurrent_promotions_into_one_app_never_interleave(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given staging v1 without and v2 with a release phase
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging", commit="plain000")
    await deploy_release_script(gql, app="shop-staging", script="echo release phase\n", commit="phase000")
    await jobs.drain()

    # when 20 promotions into the same app are made at once, alternating the two, and two workers run them
    payloads = await asyncio.gather(*(promote(gql, source="shop-staging", release=str(1 + n % 2)) for n in range(20)))
    assert all(payload["userErrors"] == [] for payload in payloads)
    await asyncio.gather(jobs.drain(), jobs.drain())

    # then the app has versions 1..20 with no gap, all succeeded, and exactly one current: the newest
    releases = await Release.filter(app__name="shop-prod-eu").order_by("version")
    assert [release.version for release in releases] == list(range(1, 21))
    assert all(release.status == ReleaseStatus.SUCCEEDED for release in releases)
    assert [release.version for release in releases if release.is_current] == [20]
    assert await PromotionTarget.filter(status=TargetStatus.SUCCEEDED).count() == 20


async def test_a_promotion_left_pending_after_its_last_target_ended_is_completed(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given every target ended but the worker died before marking the promotion COMPLETED
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging")
    await promote(gql, source="shop-staging")
    await jobs.drain()
    await Promotion.all().update(status=PromotionStatus.PENDING, completed_at=None)

    # when the reconciler runs
    pool = await _arq_pool(settings)
    try:
        assert await reconcile(pool, now=utcnow() + LATER) == 0
    finally:
        await pool.aclose()

    # then the promotion is completed
    promotion = await Promotion.get()
    assert promotion.status == PromotionStatus.COMPLETED
    assert promotion.completed_at is not None


async def _published(settings: Settings, topic: Topic[E], row_id: int) -> list[E]:
    """Every event on the row's stream of `topic`, as its subscribers read them."""
    redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
    try:
        return [topic.decode(fields) for _, fields in await redis.xrange(topic.stream(row_id))]
    finally:
        await redis.aclose()


async def _reconcile_and_work(settings: Settings, jobs: JobRunner, round_number: int) -> None:
    """One more try of whatever was lost: the reconciler (past every lease) enqueues it, a worker runs it."""
    pool = await _arq_pool(settings)
    try:
        await reconcile(pool, now=utcnow() + LATER * round_number)
    finally:
        await pool.aclose()
    await jobs.drain()


async def test_a_target_whose_job_crashes_every_time_is_failed_after_the_last_attempt(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given a promotion whose job crashes on each try (the target's config vars are not an object: a poison job)
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy_release_script(gql, app="shop-staging", script="echo migrated\n")
    await jobs.drain()
    await App.filter(name="shop-prod-eu").update(config_vars=["not", "an", "object"])
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    await jobs.drain()
    target = await PromotionTarget.get(app__name="shop-prod-eu")

    # when the reconciler hands it to a worker again (the worker's own reconciler cron may too), each time it crashes
    for round_number in range(1, MAX_ATTEMPTS + 1):
        await target.refresh_from_db()
        if target.status != TargetStatus.RUNNING:
            break
        assert target.attempts <= MAX_ATTEMPTS
        await _reconcile_and_work(settings, jobs, round_number)

    # then past the last attempt the target and its release fail saying so, and the promotion completes
    await target.refresh_from_db()
    assert (target.status, target.attempts) == (TargetStatus.FAILED, MAX_ATTEMPTS + 1)
    assert target.error_message == gave_up_message(MAX_ATTEMPTS)
    assert target.error_message.startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    release = await Release.get(id=target.release_id)
    assert (release.status, release.error_message) == (ReleaseStatus.FAILED, gave_up_message(MAX_ATTEMPTS))
    assert (await Promotion.get()).status == PromotionStatus.COMPLETED

    # and its subscribers were told: the failed target, then the end of the promotion
    events = await _published(settings, PROMOTION_EVENTS, target.promotion_id)
    assert events[-1] == PromotionCompleted()
    assert events[-2] == TargetChanges(target.promotion_id, (TargetState.of(target),))
    assert promotion_id

    # and nothing runs it again
    await _reconcile_and_work(settings, jobs, MAX_ATTEMPTS + 1)
    await target.refresh_from_db()
    assert (target.status, target.attempts) == (TargetStatus.FAILED, MAX_ATTEMPTS + 1)


async def test_a_deploy_whose_job_crashes_every_time_is_failed_after_the_last_attempt(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given production on v1 and a deploy whose job crashes on each try (config vars that are not an object)
    await create_app(gql, name="shop")
    await deploy(gql, app="shop", commit="good0000")
    await App.filter(name="shop").update(config_vars=["not", "an", "object"])
    await deploy_release_script(gql, app="shop", script="echo migrated\n", commit="poison00")
    await jobs.drain()
    release = await Release.get(app__name="shop", version=2)
    assert (release.status, release.attempts) == (ReleaseStatus.PENDING, 1)

    # when the reconciler enqueues it again until it has been tried the most times allowed
    for round_number in range(1, MAX_ATTEMPTS + 1):
        await _reconcile_and_work(settings, jobs, round_number)

    # then it failed saying why, and v1 stays current
    await release.refresh_from_db()
    assert (release.status, release.error_message) == (ReleaseStatus.FAILED, gave_up_message(MAX_ATTEMPTS))
    assert (await Release.get(app__name="shop", is_current=True)).version == 1

    # and its log's subscribers were told it ended
    assert (await _published(settings, RELEASE_LOG, release.id))[-1] == LogEnd("failed")
