"""Builds worked by a real arq worker: Heroku's classic buildpack API with shell buildpacks the tests write."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from pipegraph.apps.models import App
from pipegraph.builds import execution, service
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.builds.runner import NO_DETECT
from pipegraph.jobs.queue import JobQueue
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from tests.support.build_scene import PROCFILE_APP, output_lines, source_tarball, stored_source, write_buildpack
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app
from tests.support.jobs import JobRunner
from tests.support.processes import gone
from tests.support.promotion_scene import SET_CONFIG_VARS


async def _build(
    settings: Settings, jobs: JobRunner, *, app: str, files: dict[str, str], buildpacks: list[str] | None = None
) -> Build:
    row = await App.get(name=app)
    url = await stored_source(settings, app_id=row.id, data=source_tarball(files))
    build, queued = await service.create_build(
        settings=settings, app=row, user=None, source_url=url, checksum=None, version="9f2c1e0", buildpacks=buildpacks
    )
    assert build.status == BuildStatus.PENDING
    queue = JobQueue(settings.redis_url)
    await queue.enqueue(queued)
    await jobs.drain()
    return await Build.get(id=build.id)


async def test_an_app_with_a_procfile_builds_with_the_builtin_buildpack_and_releases(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    await create_app(gql, name="shop-staging")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-staging", "vars": {"MODE": "staging"}}})

    build = await _build(settings, jobs, app="shop-staging", files=PROCFILE_APP)

    assert build.status == BuildStatus.SUCCEEDED, build.output
    assert build.buildpacks_used == ["procfile"]
    lines = output_lines(build.output)
    assert lines[:3] == [
        "-----> Building on the heroku-24 stack",
        "-----> Determining which buildpack to use for this app",
        "-----> Procfile app detected",
    ]
    assert "       Procfile declares types -> web, release" in lines
    assert lines[-1] == "-----> Launching... done, v1"
    slug = await Slug.get(id=build.slug_id)
    assert slug.process_types == {"web": "./bin/web", "release": "echo migrating $MODE"}
    assert slug.commit == "9f2c1e0"
    release = await Release.get(id=build.release_id)
    # The release phase ran as for any release, with the app's config vars.
    assert (release.version, release.status, release.is_current) == (1, ReleaseStatus.SUCCEEDED, True)
    assert release.release_log == "migrating staging"


async def test_no_buildpack_detecting_fails_with_herokus_words_and_releases_nothing(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    await create_app(gql, name="shop-staging")

    build = await _build(settings, jobs, app="shop-staging", files={"index.php": "<?php"})

    assert build.status == BuildStatus.FAILED
    assert build.error_message == NO_DETECT
    assert output_lines(build.output)[-1] == f" !     {NO_DETECT}"
    assert (build.slug_id, build.release_id) == (None, None)
    assert not await Slug.exists()
    assert not await Release.exists()


async def test_a_failing_compile_fails_the_build_with_its_output(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    pack = write_buildpack(tmp_path / "bp", compile='echo "-----> Installing"; echo "boom" >&2; exit 3')

    build = await _build(settings, jobs, app="shop-staging", files=PROCFILE_APP, buildpacks=[str(pack)])

    assert build.status == BuildStatus.FAILED
    assert build.error_message == "Push rejected, failed to compile Shell app (exit status 3)."
    assert output_lines(build.output)[1:4] == ["-----> Shell app detected", "-----> Installing", "boom"]
    assert not await Release.exists()


async def test_compile_gets_build_cache_and_env_dirs_and_the_cache_survives_between_builds(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-staging", "vars": {"MODE": "staging"}}})
    compile = (
        'cd "$1"; echo "mode=$(cat "$3/MODE")"; '
        'if [ -f "$2/deps" ]; then echo "cache hit: $(cat "$2/deps")"; else echo "cache miss"; fi; '
        'echo installed > "$2/deps"; echo built > "$1/artifact"'
    )
    pack = write_buildpack(
        tmp_path / "bp", compile=compile, release="printf 'default_process_types:\\n  web: ./serve\\n'"
    )
    await service.set_buildpacks(app=await App.get(name="shop-staging"), buildpacks=[str(pack)])

    first = await _build(settings, jobs, app="shop-staging", files={"main.sh": "echo"})
    second = await _build(settings, jobs, app="shop-staging", files={"main.sh": "echo"})

    assert (first.status, second.status) == (BuildStatus.SUCCEEDED, BuildStatus.SUCCEEDED)
    assert "mode=staging" in output_lines(first.output)
    assert "cache miss" in output_lines(first.output)
    assert "cache hit: installed" in output_lines(second.output)
    # No Procfile: the buildpack's default process types are the slug's.
    slug = await Slug.get(id=second.slug_id)
    assert slug.process_types == {"web": "./serve"}
    assert (await Release.get(id=second.release_id)).version == 2


async def test_a_compile_past_the_time_limit_fails_and_its_process_group_is_killed(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    # given a build time limit of 1 s and a compile that leaves a child behind and never ends
    await create_app(gql, name="shop-staging")
    marker = f"{60 + os.getpid() % 1000 / 1000:.3f}"  # an argument no other process on the host has
    pack = write_buildpack(tmp_path / "bp", compile=f"sleep {marker} & echo started; wait")
    quick = replace(settings, build_timeout=1.0)

    build = await _build(quick, JobRunner(quick), app="shop-staging", files=PROCFILE_APP, buildpacks=[str(pack)])

    # then the build failed saying so, and nothing it started outlived it
    assert build.status == BuildStatus.FAILED
    assert build.error_message == f"Build timed out after 1s, during {pack} bin/compile"
    assert "started" in output_lines(build.output)
    assert await gone(marker)
    assert not await Release.exists()


async def test_buildpacks_see_the_app_config_only_in_env_dir_and_nothing_of_the_worker(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop-staging", "vars": {"MODE": "staging"}}})
    pack = write_buildpack(tmp_path / "bp", compile='env | sort; echo "env_dir: $(ls "$3")"')

    build = await _build(settings, jobs, app="shop-staging", files=PROCFILE_APP, buildpacks=[str(pack)])

    assert build.status == BuildStatus.SUCCEEDED, build.output
    names = {line.split("=", 1)[0] for line in output_lines(build.output) if "=" in line and " " not in line}
    assert names <= {"PATH", "HOME", "STACK", "LANG", "SOURCE_VERSION", "PWD", "SHLVL", "_", "OLDPWD"}, names
    assert "MODE" not in names
    assert "env_dir: MODE" in output_lines(build.output)


async def test_a_running_build_stops_only_when_cancelled_or_taken_over_never_once_it_succeeded(
    gql: GraphQLClient, settings: Settings
) -> None:
    # given a build held by its first attempt
    await create_app(gql, name="shop-staging")
    app = await App.get(name="shop-staging")
    build = await Build.create(app=app, source_url="https://example.com/s.tgz", status=BuildStatus.BUILDING, attempts=1)

    async def stops(**state: object) -> bool:
        await Build.filter(id=build.id).update(**state)
        return await execution.no_longer_held(build)

    # then its work goes on while it builds, and once it succeeded (its last line and its release still to come)
    assert not await stops(status=BuildStatus.BUILDING)
    assert not await stops(status=BuildStatus.SUCCEEDED)
    # and stops when it was cancelled (FAILED while its work runs) or a newer attempt took it over
    assert await stops(status=BuildStatus.FAILED)
    assert await stops(status=BuildStatus.BUILDING, attempts=2)
