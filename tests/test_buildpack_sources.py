"""Where buildpacks and sources come from: a .tgz URL and a git URL (fetched once, then cached), and an http(s)
source URL whose tarball escapes its folder (refused, nothing stored). A local HTTP server stands in for the web."""

from __future__ import annotations

import asyncio
import functools
import http.server
import io
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipegraph.apps.models import App
from pipegraph.builds import service
from pipegraph.builds.models import Build, BuildStatus
from pipegraph.jobs.queue import JobQueue
from pipegraph.releases.models import Release
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from tests.support.build_scene import PROCFILE_APP, hostile_tarball, output_lines, source_tarball, write_buildpack
from tests.support.clients import GraphQLClient
from tests.support.factories import create_app
from tests.support.git_scene import git, work_tree
from tests.support.jobs import JobRunner


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Files under a folder, served over HTTP on a free local port."""
    root = tmp_path / "web"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


async def _build(settings: Settings, jobs: JobRunner, *, app: str, url: str, buildpacks: list[str] | None) -> Build:
    build, queued = await service.create_build(
        settings=settings,
        app=await App.get(name=app),
        user=None,
        source_url=url,
        checksum=None,
        version=None,
        buildpacks=buildpacks,
    )
    await JobQueue(settings.redis_url).enqueue(queued)
    await jobs.drain()
    return await Build.get(id=build.id)


def _tgz_of(folder: Path, top: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=top)
    return buffer.getvalue()


async def test_a_tgz_buildpack_and_a_git_buildpack_are_fetched_once_then_used_from_the_cache(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, tmp_path: Path, web: tuple[str, Path]
) -> None:
    # given a buildpack served as a .tgz (GitHub-style, one top folder) and another in a git repository
    base, root = web
    await create_app(gql, name="shop-staging")
    first = write_buildpack(tmp_path / "first", detect="echo First", compile='echo "from the tgz"')
    (root / "first.tgz").write_bytes(_tgz_of(first, "first-buildpack-v1"))
    second = write_buildpack(tmp_path / "second", detect="echo Second", compile='echo "from git"')
    await work_tree(second, {}, message="A buildpack")
    await git("tag", "v1", cwd=second)
    (root / "source.tgz").write_bytes(source_tarball(PROCFILE_APP))
    buildpacks = [f"{base}/first.tgz", f"file://{second}#v1"]

    # when two builds use them, the originals gone before the second
    built = await _build(settings, jobs, app="shop-staging", url=f"{base}/source.tgz", buildpacks=buildpacks)
    (root / "first.tgz").unlink()
    await asyncio.to_thread(shutil.rmtree, second)
    again = await _build(settings, jobs, app="shop-staging", url=f"{base}/source.tgz", buildpacks=buildpacks)

    # then both ran in order each time, the second time from the cache
    for build in (built, again):
        assert build.status == BuildStatus.SUCCEEDED, build.output
        assert build.buildpacks_used == buildpacks
        lines = output_lines(build.output)
        assert lines.index("-----> First app detected") < lines.index("from the tgz") < lines.index("from git")


async def test_a_fetched_source_escaping_its_folder_fails_the_build_and_stores_nothing(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, web: tuple[str, Path]
) -> None:
    base, root = web
    await create_app(gql, name="shop-staging")
    (root / "evil.tgz").write_bytes(hostile_tarball("symlink"))

    build = await _build(settings, jobs, app="shop-staging", url=f"{base}/evil.tgz", buildpacks=None)

    assert build.status == BuildStatus.FAILED
    assert build.error_message == (
        "source tarball has a link pointing outside the archive: 'escape' -> '../../../etc/passwd'"
    )
    assert not await Slug.exists()
    assert not await Release.exists()
    assert not list(settings.slug_dir.rglob("*.tar.gz"))


async def test_a_source_that_cannot_be_fetched_fails_the_build_naming_what_failed(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, web: tuple[str, Path]
) -> None:
    base, _ = web
    await create_app(gql, name="shop-staging")

    build = await _build(settings, jobs, app="shop-staging", url=f"{base}/missing.tgz", buildpacks=None)

    assert build.status == BuildStatus.FAILED
    assert build.error_message == f"source {base}/missing.tgz could not be fetched: HTTP 404"
