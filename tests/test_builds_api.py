"""Builds through GraphQL: createSource + PUT, createBuild answering PENDING at once, build(id), app { builds },
setBuildpacks, and buildLog over both WebSocket protocols."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipegraph.builds.execution import BUILD_WORKSPACES
from pipegraph.builds.models import Build
from pipegraph.sandbox.host import WARNING
from pipegraph.settings import Settings
from pipegraph.sources.models import Source
from tests.support.build_scene import PROCFILE_APP, hostile_tarball, source_tarball, write_buildpack
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import checksum_of, create_app, upload
from tests.support.jobs import JobRunner
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, subscribe

CREATE_SOURCE = """
mutation($input: CreateSourceInput!) {
  createSource(input: $input) { uploadUrl getUrl userErrors { field message code } }
}"""

CREATE_BUILD = """
mutation($input: CreateBuildInput!) {
  createBuild(input: $input) { build { id status sourceVersion } userErrors { field message code } }
}"""

BUILD = """
query($id: ID!) {
  build(id: $id) {
    status sourceVersion buildpacks errorMessage output
    sourceBlob { checksum version }
    slug { processTypes commit } release { version current }
    app { builds(first: 5) { edges { node { id status } } } }
  }
}"""

SET_BUILDPACKS = """
mutation($input: SetBuildpacksInput!) {
  setBuildpacks(input: $input) { app { name buildpacks } buildpacks userErrors { field message code } }
}"""

BUILD_LOG = "subscription($id: ID!) { buildLog(buildId: $id) { number text } }"


async def _source(gql: GraphQLClient, *, app: str, data: bytes) -> tuple[str, httpx.Response]:
    created = (await gql(CREATE_SOURCE, {"input": {"app": app}}))["createSource"]
    assert created["userErrors"] == [], created
    return created["getUrl"], await upload(gql.http, created["uploadUrl"], data)


async def _create_build(gql: GraphQLClient, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql(CREATE_BUILD, {"input": input}))["createBuild"]
    return payload


async def test_an_uploaded_source_builds_in_a_worker_and_releases(gql: GraphQLClient, jobs: JobRunner) -> None:
    await create_app(gql, name="shop-staging")
    data = source_tarball(PROCFILE_APP, top="acme-shop-9f2c1e0")
    url, uploaded = await _source(gql, app="shop-staging", data=data)
    assert uploaded.status_code == 200, uploaded.text

    created = await _create_build(
        gql, app="shop-staging", sourceBlob={"url": url, "checksum": checksum_of(data), "version": "9f2c1e0"}
    )
    assert created["userErrors"] == []
    assert created["build"]["status"] == "PENDING"  # at once: the work is the worker's
    await jobs.drain()

    build = (await gql(BUILD, {"id": created["build"]["id"]}))["build"]
    assert build["status"] == "SUCCEEDED", build["output"]
    assert (build["sourceVersion"], build["buildpacks"], build["errorMessage"]) == ("9f2c1e0", ["procfile"], None)
    assert build["sourceBlob"] == {"checksum": checksum_of(data), "version": "9f2c1e0"}
    assert build["slug"] == {
        "processTypes": {"web": "./bin/web", "release": "echo migrating $MODE"},
        "commit": "9f2c1e0",
    }
    assert build["release"] == {"version": 1, "current": True}
    assert build["app"]["builds"]["edges"] == [{"node": {"id": created["build"]["id"], "status": "SUCCEEDED"}}]


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
async def test_a_source_tarball_escaping_its_folder_is_refused_and_nothing_is_stored(
    gql: GraphQLClient, settings: Settings, kind: str
) -> None:
    await create_app(gql, name="shop-staging")

    url, uploaded = await _source(gql, app="shop-staging", data=hostile_tarball(kind))

    assert uploaded.status_code == 400
    assert uploaded.json()["error"]["code"] == "invalid_tarball"
    assert (await Source.get()).checksum is None
    stored = [path for path in settings.source_dir.rglob("*") if path.is_file()]
    assert stored == []
    refused = await _create_build(gql, app="shop-staging", sourceBlob={"url": url})
    assert refused["userErrors"][0]["code"] == "SOURCE_NOT_UPLOADED"
    assert not await Build.exists()


@pytest.mark.parametrize("source_id", ["²", "9" * 25, "-1", "1x"], ids=["superscript-two", "25-nines", "minus", "x"])
async def test_an_upload_url_naming_no_possible_source_is_not_found(gql: GraphQLClient, source_id: str) -> None:
    # "²" passes str.isdigit() but not int(): it must be a 404 like any id no row has, not an internal error
    answer = await gql.http.put(f"/sources/{source_id}/blob?expires=1&signature=x", content=b"x")

    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")


async def test_bad_build_input_is_refused_with_a_clear_error(gql: GraphQLClient) -> None:
    await create_app(gql, name="shop-staging")
    cases = [
        ({"sourceBlob": {"url": "ftp://example.com/x.tgz"}}, "sourceBlob.url", "INVALID_SOURCE"),
        ({"sourceBlob": {"url": "https://example.com/x.tgz", "checksum": "md5:1"}}, "checksum", "INVALID_CHECKSUM"),
        ({"sourceBlob": {"url": "https://example.com/x.tgz"}, "buildpacks": ["heroku/ruby"]}, "buildpacks", None),
    ]
    for extra, field, code in cases:
        refused = await _create_build(gql, app="shop-staging", **extra)
        assert refused["build"] is None
        assert refused["userErrors"][0]["field"] == field
        assert code is None or refused["userErrors"][0]["code"] == code
    assert not await Build.exists()


async def test_set_buildpacks_keeps_an_ordered_list_and_refuses_what_is_not_a_buildpack(
    gql: GraphQLClient, tmp_path: Path
) -> None:
    await create_app(gql, name="shop-staging")
    pack = str(write_buildpack(tmp_path / "bp"))
    wanted = [pack, "https://example.com/buildpacks/node.tgz", "https://example.com/python.git#v2", "procfile"]

    done = (await gql(SET_BUILDPACKS, {"input": {"app": "shop-staging", "buildpacks": wanted}}))["setBuildpacks"]
    refused = (await gql(SET_BUILDPACKS, {"input": {"app": "shop-staging", "buildpacks": ["../x"]}}))["setBuildpacks"]

    assert done["app"] == {"name": "shop-staging", "buildpacks": wanted}
    assert refused["userErrors"][0]["code"] == "INVALID_BUILDPACK"


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_build_log_streams_the_output_live_then_ends(
    gql: GraphQLClient, viewer: Actor, git_server: str, tmp_path: Path, protocol: str
) -> None:
    # given a build whose compile prints, pauses, then prints again
    await create_app(gql, name="shop-staging")
    # The gate is in the build's own folder, the one folder of the host its sandbox sees.
    compile = 'echo "-----> Installing"; while [ ! -f gate ]; do sleep 0.05; done; echo "       done"'
    pack = write_buildpack(tmp_path / "bp", compile=compile)
    await gql(SET_BUILDPACKS, {"input": {"app": "shop-staging", "buildpacks": [str(pack)]}})
    url, _ = await _source(gql, app="shop-staging", data=source_tarball(PROCFILE_APP))
    build_id = (await _create_build(gql, app="shop-staging", sourceBlob={"url": url}))["build"]["id"]

    # when a subscriber follows it, and the compile goes on only once the subscriber saw its first line
    init = {"Authorization": f"Bearer {viewer.token}"} if protocol == TRANSPORT_WS else {"token": viewer.token}
    lines: list[str] = []
    async for data in subscribe(git_server, BUILD_LOG, {"id": build_id}, protocol=protocol, init_payload=init):
        if data["buildLog"]["text"] != WARNING:  # shown only where bubblewrap cannot run
            lines.append(data["buildLog"]["text"])
        if lines and lines[-1] == "-----> Installing":
            await asyncio.to_thread(_open_gate)

    # then every line arrived in order and the stream ended with the build
    assert lines[0] == "-----> Building on the heroku-24 stack"
    assert lines.index("-----> Installing") < lines.index("       done") < lines.index("-----> Launching... done, v1")
    # and a late subscriber gets the same lines from the saved output
    late = [
        data["buildLog"]["text"]
        async for data in subscribe(git_server, BUILD_LOG, {"id": build_id}, protocol=protocol, init_payload=init)
        if data["buildLog"]["text"] != WARNING
    ]
    assert late == lines


def _open_gate() -> None:
    # Every build folder there is: one a killed worker left behind (swept only later) is harmless to touch.
    for build_dir in BUILD_WORKSPACES.root.glob(f"{BUILD_WORKSPACES.prefix}*/workspace/build"):
        (build_dir / "gate").touch()
