"""Promotion end to end: the mutation, then a real arq worker doing each target, then the graph read back."""

from __future__ import annotations

import pytest

from pipegraph.apps.models import App
from pipegraph.jobs.queue import enqueue_all
from pipegraph.promotions.models import Promotion, PromotionTarget
from pipegraph.promotions.service import target_job
from pipegraph.releases.models import Release
from pipegraph.slugs.models import Slug
from tests.support.clients import GraphQLClient
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import SET_CONFIG_VARS, deploy_release_script, promote, promotion, shop_pipeline
from tests.support.sandbox import expected_log


async def test_promotes_current_release_to_every_app_of_the_next_stage(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given staging runs v2 and production has two apps, one with an older release
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging", commit="aaaa0000")
    await deploy(gql, app="shop-staging", commit="bbbb1111")
    await deploy(gql, app="shop-prod-eu", commit="old00000")

    # when staging is promoted and the workers run
    payload = await promote(gql, source="shop-staging")
    assert payload["userErrors"] == []
    created = payload["promotion"]
    assert created["status"] == "PENDING"
    assert created["sourceRelease"]["version"] == 2
    assert [(t["app"]["name"], t["status"], t["step"]) for t in created["targets"]] == [
        ("shop-admin", "PENDING", "QUEUED"),
        ("shop-prod-eu", "PENDING", "QUEUED"),
    ]
    await jobs.drain()

    # then both production apps run the same slug as a new current release that says where it came from
    done = await promotion(gql, created["id"])
    assert done["status"] == "COMPLETED"
    assert done["completedAt"] is not None
    staging_checksum = (await Slug.filter(app__name="shop-staging", commit="bbbb1111").first()).checksum  # type: ignore[union-attr]
    for name, version in [("shop-admin", 1), ("shop-prod-eu", 2)]:
        target = done["byApp"][name]
        assert (target["status"], target["step"], target["errorMessage"]) == ("SUCCEEDED", "DONE", None)
        release = target["release"]
        assert release["version"] == version
        assert (release["status"], release["current"]) == ("SUCCEEDED", True)
        assert release["description"] == "Promote shop-staging v2"
        assert release["sourceRelease"] == {"version": 2, "app": {"name": "shop-staging"}}
        assert release["slug"]["checksum"] == staging_checksum
        assert release["slug"]["commit"] == "bbbb1111"
        assert target["app"]["currentRelease"]["version"] == version
    # the target got its own slug record over the same blob; the source's record is untouched
    assert await Slug.filter(checksum=staging_checksum).count() == 3


async def test_to_restricts_targets_to_the_named_apps_of_the_pipeline(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given a release on development
    await shop_pipeline(gql)
    await deploy(gql, app="shop-dev", commit="dev00001")

    # when it is promoted straight to one production app and the review app
    payload = await promote(gql, source="shop-dev", to=["shop-prod-eu", "shop-review"])
    assert payload["userErrors"] == []
    await jobs.drain()

    # then only those two got it
    done = await promotion(gql, payload["promotion"]["id"])
    assert sorted(done["byApp"]) == ["shop-prod-eu", "shop-review"]
    assert all(target["status"] == "SUCCEEDED" for target in done["targets"])
    assert await Release.filter(app__name="shop-staging").count() == 0
    assert await Release.filter(app__name="shop-admin").count() == 0


async def test_promotes_a_chosen_release_instead_of_the_current_one(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given staging at v3
    await shop_pipeline(gql, production=("shop-prod-eu",))
    for commit in ("c1000000", "c2000000", "c3000000"):
        await deploy(gql, app="shop-staging", commit=commit)

    # when v2 is promoted by version
    payload = await promote(gql, source="shop-staging", release="v2")
    assert payload["userErrors"] == []
    await jobs.drain()

    # then production runs v2's slug
    target = (await promotion(gql, payload["promotion"]["id"]))["byApp"]["shop-prod-eu"]
    assert target["release"]["slug"]["commit"] == "c2000000"
    assert target["release"]["description"] == "Promote shop-staging v2"
    assert target["release"]["sourceRelease"]["version"] == 2


async def test_target_adopts_the_slug_stack_and_keeps_its_own_config_vars(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given staging built on heroku-22 with its own config, production on heroku-24 with another
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-staging", "vars": {"MODE": "staging", "ONLY_STAGING": "1"}}})
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-prod-eu", "vars": {"MODE": "production"}}})
    await deploy_release_script(
        gql,
        app="shop-staging",
        stack="heroku-22",
        script='echo "mode=$MODE only=${ONLY_STAGING:-unset} dyno=$DYNO port=$PORT"\n',
    )
    await jobs.drain()

    # when it is promoted
    payload = await promote(gql, source="shop-staging")
    await jobs.drain()

    # then production runs on the slug's stack, with its own vars, and its release phase saw only its own
    target = (await promotion(gql, payload["promotion"]["id"]))["byApp"]["shop-prod-eu"]
    assert target["status"] == "SUCCEEDED"
    assert target["app"]["stack"] == "heroku-22"
    assert target["release"]["slug"]["stack"] == "heroku-22"
    assert target["app"]["configVars"] == {"MODE": "production"}
    assert target["release"]["log"].split("\n") == expected_log("mode=production only=unset dyno=release.1 port=5000")


async def test_release_phase_runs_before_the_release_becomes_current(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given a staging slug with a release command, and production on an older release
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-prod-eu", commit="old00000")
    deployed = await deploy_release_script(gql, app="shop-staging", script="echo migrating\necho migrated >&2\n")
    assert deployed["status"] == "PENDING"  # a deploy runs its release phase in a worker too
    await jobs.drain()

    # when promoted
    payload = await promote(gql, source="shop-staging")
    await jobs.drain()

    # then the release phase ran in the target, its output is kept, and only then the release went current
    target = (await promotion(gql, payload["promotion"]["id"]))["byApp"]["shop-prod-eu"]
    assert target["status"] == "SUCCEEDED"
    assert target["release"]["version"] == 2
    assert target["release"]["current"] is True
    assert target["release"]["log"].split("\n") == expected_log("migrating", "migrated")
    staging = await Release.get(app__name="shop-staging", version=1)
    assert (staging.status.value, staging.is_current) == ("succeeded", True)
    assert staging.release_log.split("\n") == expected_log("migrating", "migrated")


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ("exit 1", "release command exited with status 1"),
        ("sleep 30", "release phase timed out after 5s"),
    ],
)
async def test_failing_release_phase_fails_the_target_and_keeps_the_old_release(
    gql: GraphQLClient, jobs: JobRunner, failure: str, error: str
) -> None:
    # given production on v1 and a staging release whose release command fails (or hangs) only in production
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-prod-eu", commit="old00000")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-prod-eu", "vars": {"MODE": "production"}}})
    script = f'echo starting\nif [ "$MODE" = production ]; then {failure}; fi\necho done\n'
    await deploy_release_script(gql, app="shop-staging", script=script)
    await jobs.drain()

    # when promoted
    payload = await promote(gql, source="shop-staging")
    assert payload["userErrors"] == []
    await jobs.drain()

    # then the target failed loudly, the new release failed with the same words, and v1 stays current
    done = await promotion(gql, payload["promotion"]["id"])
    assert done["status"] == "COMPLETED"
    target = done["byApp"]["shop-prod-eu"]
    assert (target["status"], target["step"], target["errorMessage"]) == ("FAILED", "DONE", error)
    assert target["release"]["version"] == 2
    assert (target["release"]["status"], target["release"]["current"]) == ("FAILED", False)
    assert target["release"]["errorMessage"] == error
    assert target["release"]["log"].split("\n") == expected_log("starting")
    assert target["app"]["currentRelease"]["version"] == 1


async def test_a_corrupted_blob_fails_the_target_without_a_release(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given a staging release whose blob was changed on disk after upload
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-prod-eu", commit="old00000")
    await deploy(gql, app="shop-staging", commit="good0000")
    slug = await Slug.get(app__name="shop-staging")
    path = jobs.settings.slug_dir / slug.digest[:2] / slug.digest[2:4] / f"{slug.digest}.tar.gz"
    path.write_bytes(path.read_bytes() + b"tampered")

    # when promoted
    payload = await promote(gql, source="shop-staging")
    await jobs.drain()

    # then the target failed on the checksum and production still runs v1 with no new release
    target = (await promotion(gql, payload["promotion"]["id"]))["byApp"]["shop-prod-eu"]
    assert target["status"] == "FAILED"
    assert target["errorMessage"].startswith("slug checksum does not match")
    assert target["release"] is None
    assert await Release.filter(app__name="shop-prod-eu").count() == 1


async def test_a_blob_changed_after_a_verified_promotion_is_caught_on_the_next(
    gql: GraphQLClient, jobs: JobRunner
) -> None:
    # given a staging release already promoted once, so this worker has verified its blob
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging", commit="good0000")
    first = await promote(gql, source="shop-staging")
    await jobs.drain()
    assert (await promotion(gql, first["promotion"]["id"]))["byApp"]["shop-prod-eu"]["status"] == "SUCCEEDED"

    # when the blob is then changed on disk, same size, and promoted again
    slug = await Slug.get(app__name="shop-staging")
    path = jobs.settings.slug_dir / slug.digest[:2] / slug.digest[2:4] / f"{slug.digest}.tar.gz"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    second = await promote(gql, source="shop-staging")
    await jobs.drain()

    # then the remembered verification did not hide the change
    target = (await promotion(gql, second["promotion"]["id"]))["byApp"]["shop-prod-eu"]
    assert target["status"] == "FAILED"
    assert target["errorMessage"].startswith("slug checksum does not match")


async def test_a_job_that_runs_twice_makes_no_second_release(gql: GraphQLClient, jobs: JobRunner) -> None:
    # given a completed promotion
    await shop_pipeline(gql, production=("shop-prod-eu",))
    await deploy(gql, app="shop-staging")
    payload = await promote(gql, source="shop-staging")
    await jobs.drain()
    target = await PromotionTarget.get(app__name="shop-prod-eu")

    # when its job is enqueued and run again
    from arq.connections import create_pool

    from pipegraph.redis import redis_settings

    pool = await create_pool(redis_settings(jobs.settings.redis_url or ""))
    await enqueue_all(pool, [target_job(target.id)])
    await pool.aclose()
    await jobs.drain()

    # then there is still exactly one release on the target
    assert await Release.filter(app__name="shop-prod-eu").count() == 1
    assert (await promotion(gql, payload["promotion"]["id"]))["byApp"]["shop-prod-eu"]["status"] == "SUCCEEDED"
    assert (await App.get(name="shop-prod-eu")).release_count == 1
    assert await Promotion.filter(status="completed").count() == 1
