"""Slugs: createSlug validation, and the one signed PUT that stores a verified, content-addressed blob."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from pipegraph.api.app import create_app as create_asgi_app
from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import CREATE_SLUG, create_app, upload
from tests.support.tarballs import checksum_of, entry, tarball

SLUG_NODE = """
query($id: ID!) {
  node(id: $id) { ... on Slug { id checksum size stack uploaded processTypes commit commitDescription } }
}"""

SMALL_LIMIT = 2048


def slug_input(app: str, data: bytes, **overrides: Any) -> dict[str, Any]:
    return {
        "input": {
            "app": app,
            "checksum": checksum_of(data),
            "processTypes": {"web": "./bin/web"},
            "commit": "abc123",
            "commitDescription": "Add checkout",
            **overrides,
        }
    }


async def declare(gql: GraphQLClient, app: str, data: bytes, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = (await gql(CREATE_SLUG, slug_input(app, data, **overrides)))["createSlug"]
    assert created["userErrors"] == [], created
    return created


async def slug_state(gql: GraphQLClient, slug_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await gql(SLUG_NODE, {"id": slug_id}))["node"]
    return node


def stored_files(settings: Settings) -> list[Path]:
    """Every file under the slug folder, partial uploads included."""
    root = settings.slug_dir
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


# --- createSlug -------------------------------------------------------------------------------------------------


async def test_create_slug_returns_slug_and_signed_upload_url(gql: GraphQLClient) -> None:
    # given an app
    await create_app(gql, name="shop")
    data = tarball()

    # when a slug is declared without a stack
    created = await declare(gql, "shop", data, processTypes={"web": "./bin/web", "worker": "./bin/work"})

    # then it carries the declared fields, the app's stack, is not uploaded yet, and has a signed URL
    slug = created["slug"]
    assert slug["checksum"] == checksum_of(data)
    assert slug["stack"] == "heroku-24"
    assert slug["processTypes"] == {"web": "./bin/web", "worker": "./bin/work"}
    assert slug["uploaded"] is False
    url = urlsplit(created["uploadUrl"])
    assert url.netloc == "testserver"
    assert set(parse_qs(url.query)) == {"expires", "signature"}
    state = await slug_state(gql, slug["id"])
    assert state["size"] is None
    assert state["commitDescription"] == "Add checkout"


async def test_create_slug_normalizes_the_checksum_hex_to_lowercase(gql: GraphQLClient) -> None:
    # given a checksum written in uppercase hex
    await create_app(gql, name="shop")
    data = tarball()
    digest = hashlib.sha256(data).hexdigest()

    # when the slug is declared with it
    created = await declare(gql, "shop", data, checksum=f"SHA256:{digest.upper()}")

    # then it is stored in canonical form, and the upload of the same bytes verifies
    assert created["slug"]["checksum"] == f"SHA256:{digest}"
    assert (await upload(gql.http, created["uploadUrl"], data)).status_code == 200


@pytest.mark.parametrize(
    "checksum",
    ["", "abc", "sha256:" + "0" * 64, "SHA256:" + "0" * 63, "SHA256:" + "g" * 64, "MD5:" + "0" * 32, "0" * 64],
)
async def test_create_slug_refuses_a_malformed_checksum(gql: GraphQLClient, checksum: str) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a slug is declared with a checksum that is not SHA256:<64 hex>
    data = await gql(CREATE_SLUG, slug_input("shop", b"", checksum=checksum))

    # then it is refused on the checksum field and no slug exists
    payload = data["createSlug"]
    assert payload["slug"] is None
    assert payload["uploadUrl"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "INVALID_CHECKSUM"
    assert error["field"] == "checksum"
    assert "SHA256:" in error["message"]


@pytest.mark.parametrize(
    ("process_types", "needle"),
    [
        ({}, "required"),
        ([], "required"),
        ("web: ./bin/web", "required"),
        ({"web": ""}, "'web'"),
        ({"web": 3}, "'web'"),
        ({"web": None}, "'web'"),
        ({"Web": "./bin/web"}, "'Web'"),
        ({"web server": "./bin/web"}, "'web server'"),
    ],
)
async def test_create_slug_refuses_bad_process_types(gql: GraphQLClient, process_types: Any, needle: str) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a slug is declared with missing or malformed process types
    data = await gql(CREATE_SLUG, slug_input("shop", tarball(), processTypes=process_types))

    # then it is refused, naming what is wrong
    payload = data["createSlug"]
    assert payload["slug"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "INVALID_PROCESS_TYPES"
    assert error["field"] == "processTypes"
    assert needle in error["message"]


async def test_create_slug_for_an_unknown_app(gql: GraphQLClient) -> None:
    # when a slug is declared for an app that does not exist
    data = await gql(CREATE_SLUG, slug_input("ghost", tarball()))

    # then it is NOT_FOUND on the app field
    assert data["createSlug"]["userErrors"] == [{"field": "app", "message": "app ghost not found", "code": "NOT_FOUND"}]


async def test_create_slug_refuses_a_bad_stack(gql: GraphQLClient) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a slug is declared on a malformed stack
    data = await gql(CREATE_SLUG, slug_input("shop", tarball(), stack="Not A Stack"))

    # then it is refused
    [error] = data["createSlug"]["userErrors"]
    assert error["code"] == "INVALID_STACK"


# --- upload -------------------------------------------------------------------------------------------------------


async def test_upload_stores_the_blob_content_addressed_and_sharded(gql: GraphQLClient, settings: Settings) -> None:
    # given a declared slug
    await create_app(gql, name="shop")
    data = tarball({"bin/web": "#!/bin/sh\necho hi\n", "README": "hello"})
    created = await declare(gql, "shop", data)

    # when its bytes are PUT to the upload URL (no API token)
    response = await upload(gql.http, created["uploadUrl"], data)

    # then the blob lies under its digest, sharded by its first hex digits, byte for byte
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(data).hexdigest()
    path = settings.slug_dir / digest[:2] / digest[2:4] / f"{digest}.tar.gz"
    assert path.read_bytes() == data
    assert stored_files(settings) == [path]
    # and the slug now says it is uploaded, with its size
    state = await slug_state(gql, created["slug"]["id"])
    assert state["uploaded"] is True
    assert state["size"] == len(data)
    assert response.json()["size"] == len(data)
    assert response.json()["checksum"] == checksum_of(data)


async def test_upload_accepts_a_tarball_made_with_tar_dash_c_dot(gql: GraphQLClient) -> None:
    # given a tarball like `tar czf slug.tgz -C build .`: a root `.` entry, then ./app/...
    await create_app(gql, name="shop")
    data = tarball(entries=[entry(".", kind=tarfile.DIRTYPE), entry("./app", kind=tarfile.DIRTYPE), entry("./app/web")])
    created = await declare(gql, "shop", data)

    # when it is uploaded
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is accepted
    assert response.status_code == 200, response.text


async def test_upload_with_a_checksum_mismatch_stores_nothing(gql: GraphQLClient, settings: Settings) -> None:
    # given a slug declared for some bytes
    await create_app(gql, name="shop")
    declared = tarball({"README": "what was built"})
    created = await declare(gql, "shop", declared)

    # when other bytes are uploaded
    other = tarball({"README": "something else"})
    response = await upload(gql.http, created["uploadUrl"], other)

    # then it is a 400 naming both checksums, nothing is stored and the slug is still not uploaded
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "checksum_mismatch"
    assert checksum_of(declared) in error["message"]
    assert checksum_of(other) in error["message"]
    assert stored_files(settings) == []
    assert (await slug_state(gql, created["slug"]["id"]))["uploaded"] is False
    # and the right bytes can still be uploaded afterwards
    assert (await upload(gql.http, created["uploadUrl"], declared)).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text, not an archive", id="plain-bytes"),
        pytest.param(gzip.compress(b"gzip, but not a tar inside" * 40), id="gzip-not-tar"),
        pytest.param(tarball()[:-30], id="truncated"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_upload_of_something_not_a_gzip_tarball_is_refused(
    gql: GraphQLClient, settings: Settings, data: bytes
) -> None:
    # given a slug declared with the checksum of bytes that are not a gzip tarball
    await create_app(gql, name="shop")
    created = await declare(gql, "shop", data)

    # when those bytes are uploaded
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is a clear 400 and nothing is stored
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_tarball"
    assert "gzip" in error["message"]
    assert stored_files(settings) == []
    assert (await slug_state(gql, created["slug"]["id"]))["uploaded"] is False


async def test_upload_of_an_uncompressed_tar_is_refused(gql: GraphQLClient, settings: Settings) -> None:
    # given a plain (not gzipped) tar with ./app/ inside
    data = tarball({"README": ""}, compressed=False)
    await create_app(gql, name="shop")
    created = await declare(gql, "shop", data)

    # when it is uploaded
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is refused as not gzip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_tarball"
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("member", "needle"),
    [
        pytest.param(entry("../etc/x"), "'../etc/x' escapes ./app/", id="dotdot"),
        pytest.param(entry("./app/../../etc/x"), "escapes ./app/", id="app-dotdot"),
        pytest.param(entry("/abs"), "'/abs' escapes ./app/", id="absolute"),
        pytest.param(entry("./README"), "'./README' escapes ./app/", id="outside-app"),
        pytest.param(entry("./application/x"), "escapes ./app/", id="app-prefix"),
        pytest.param(entry("./app/link", kind=tarfile.SYMTYPE, link="../../etc/passwd"), "symlink", id="symlink-up"),
        pytest.param(entry("./app/link", kind=tarfile.SYMTYPE, link="/etc/passwd"), "symlink", id="symlink-abs"),
        pytest.param(entry("./app/hard", kind=tarfile.LNKTYPE, link="etc/passwd"), "hard link", id="hardlink"),
        pytest.param(entry("./app/dev", kind=tarfile.CHRTYPE), "device", id="device"),
    ],
)
async def test_upload_with_a_path_escaping_app_is_refused(
    gql: GraphQLClient, settings: Settings, member: tarfile.TarInfo, needle: str
) -> None:
    # given a tarball with a good file and one entry that escapes ./app/
    data = tarball(entries=[entry("./app/web"), member])
    await create_app(gql, name="shop")
    created = await declare(gql, "shop", data)

    # when it is uploaded
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is a clear 400 naming the entry, and nothing is stored
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_tarball"
    assert needle in error["message"]
    assert stored_files(settings) == []
    assert (await slug_state(gql, created["slug"]["id"]))["uploaded"] is False


@pytest.mark.parametrize(
    "chain",
    [
        pytest.param(
            [
                entry("./app/a", kind=tarfile.SYMTYPE, link="."),
                entry("./app/b", kind=tarfile.SYMTYPE, link="a/a/a/../.."),
            ],
            id="link-through-links",
        ),
        pytest.param(
            [entry("./app/a", kind=tarfile.SYMTYPE, link="."), entry("./app/a/a/../../escaped")],
            id="path-through-links",
        ),
        pytest.param(
            [
                entry("./app/d", kind=tarfile.DIRTYPE),
                entry("./app/d/up", kind=tarfile.SYMTYPE, link=".."),
                entry("./app/x", kind=tarfile.SYMTYPE, link="d/up/d/up/../../.."),
            ],  # fmt: skip
            id="dir-and-links",
        ),
    ],
)
async def test_upload_whose_links_leave_app_as_the_filesystem_resolves_them_is_refused(
    gql: GraphQLClient, settings: Settings, chain: list[tarfile.TarInfo]
) -> None:
    # given links that each stay inside ./app/ when read alone, but leave it once the ones before them exist
    data = tarball(entries=[entry("./app/web"), *chain])
    await create_app(gql, name="shop")
    created = await declare(gql, "shop", data)

    # when it is uploaded
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is a clear 400 naming the last link, and nothing is stored
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_tarball"
    assert f"slug entry {chain[-1].name!r}" in error["message"]
    assert "resolves out of" in error["message"]
    assert stored_files(settings) == []
    assert (await slug_state(gql, created["slug"]["id"]))["uploaded"] is False


async def test_upload_accepts_links_that_stay_inside_app(gql: GraphQLClient) -> None:
    # given a tarball whose links point inside ./app/
    data = tarball(
        entries=[
            entry("./app/bin/web"),
            entry("./app/web", kind=tarfile.SYMTYPE, link="bin/web"),
            entry("./app/bin/alias", kind=tarfile.LNKTYPE, link="./app/bin/web"),
        ]
    )
    await create_app(gql, name="shop")
    created = await declare(gql, "shop", data)

    # when it is uploaded
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is stored
    assert response.status_code == 200, response.text


async def test_second_upload_is_a_conflict(gql: GraphQLClient, settings: Settings) -> None:
    # given an uploaded slug
    await create_app(gql, name="shop")
    data = tarball()
    created = await declare(gql, "shop", data)
    assert (await upload(gql.http, created["uploadUrl"], data)).status_code == 200

    # when the same URL is used again
    response = await upload(gql.http, created["uploadUrl"], data)

    # then it is a 409: slugs are immutable; the stored blob is untouched
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slug_already_uploaded"
    assert "immutable" in response.json()["error"]["message"]
    assert len(stored_files(settings)) == 1


def tampered(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda url: tampered(url, signature="0" * 64), id="bad-signature"),
        pytest.param(
            lambda url: tampered(url, expires=str(int(parse_qs(urlsplit(url).query)["expires"][0]) + 60)),
            id="extended-expiry",
        ),
        pytest.param(lambda url: tampered(url, expires="soon"), id="non-numeric-expiry"),
        pytest.param(lambda url: urlsplit(url).path, id="no-signature"),
    ],
)
async def test_upload_with_a_bad_signature_is_forbidden(gql: GraphQLClient, settings: Settings, mangle: Any) -> None:
    # given a declared slug
    await create_app(gql, name="shop")
    data = tarball()
    created = await declare(gql, "shop", data)

    # when its URL is tampered with
    response = await gql.http.put(mangle(created["uploadUrl"]), content=data)

    # then it is a 403 that says what to do, and nothing is stored
    assert response.status_code == 403
    assert "createSlug" in response.json()["error"]["message"]
    assert stored_files(settings) == []


async def test_upload_url_of_one_slug_does_not_open_another(gql: GraphQLClient, settings: Settings) -> None:
    # given two declared slugs
    await create_app(gql, name="shop")
    data = tarball()
    first = await declare(gql, "shop", data)
    second = await declare(gql, "shop", data)

    # when the first slug's signature is used on the second slug's path
    first_query = urlsplit(first["uploadUrl"]).query
    second_path = urlsplit(second["uploadUrl"]).path
    response = await gql.http.put(f"{second_path}?{first_query}", content=data)

    # then it is forbidden
    assert response.status_code == 403
    assert stored_files(settings) == []


@pytest.fixture
async def limited(settings: Settings, viewer: Actor) -> AsyncIterator[GraphQLClient]:
    """The API with a tiny slug size limit and upload URLs that are already expired."""
    custom = replace(settings, slug_max_bytes=SMALL_LIMIT, upload_url_ttl=-1)
    transport = httpx.ASGITransport(app=create_asgi_app(custom, manage_db=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, viewer)


async def test_expired_upload_url_is_forbidden(limited: GraphQLClient, settings: Settings) -> None:
    # given a slug whose upload URL has already expired
    await create_app(limited, name="shop")
    data = tarball()
    created = await declare(limited, "shop", data)

    # when it is used
    response = await upload(limited.http, created["uploadUrl"], data)

    # then it is a 403
    assert response.status_code == 403
    assert "expired" in response.json()["error"]["message"]
    assert stored_files(settings) == []


@pytest.fixture
async def small(settings: Settings, viewer: Actor) -> AsyncIterator[GraphQLClient]:
    """The API with a tiny slug size limit."""
    custom = replace(settings, slug_max_bytes=SMALL_LIMIT)
    transport = httpx.ASGITransport(app=create_asgi_app(custom, manage_db=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, viewer)


def big_tarball() -> bytes:
    # random-looking content so gzip cannot shrink it under the limit
    content = b"".join(hashlib.sha512(bytes([i, j])).digest() for i in range(8) for j in range(16))
    data = tarball({"blob": content})
    assert len(data) > SMALL_LIMIT
    return data


async def test_upload_over_the_size_limit_is_refused_by_its_length(small: GraphQLClient, settings: Settings) -> None:
    # given a slug bigger than the limit
    await create_app(small, name="shop")
    data = big_tarball()
    created = await declare(small, "shop", data)

    # when it is uploaded with its Content-Length
    response = await upload(small.http, created["uploadUrl"], data)

    # then it is a 413 naming the limit, and nothing is stored
    assert response.status_code == 413
    assert str(SMALL_LIMIT) in response.json()["error"]["message"]
    assert stored_files(settings) == []
    assert (await slug_state(small, created["slug"]["id"]))["uploaded"] is False


async def test_upload_over_the_size_limit_is_refused_when_streamed(small: GraphQLClient, settings: Settings) -> None:
    # given a slug bigger than the limit
    await create_app(small, name="shop")
    data = big_tarball()
    created = await declare(small, "shop", data)

    # when it is streamed in chunks without a Content-Length
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 512):
            yield data[start : start + 512]

    parts = urlsplit(created["uploadUrl"])
    response = await small.http.put(f"{parts.path}?{parts.query}", content=chunks())

    # then it is still a 413 and nothing (not even a partial file) is kept
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "slug_too_large"
    assert stored_files(settings) == []


async def test_upload_under_the_limit_passes(small: GraphQLClient) -> None:
    # given a small slug under a small limit
    await create_app(small, name="shop")
    data = tarball()
    assert len(data) < SMALL_LIMIT
    created = await declare(small, "shop", data)

    # when it is uploaded
    response = await upload(small.http, created["uploadUrl"], data)

    # then it is accepted
    assert response.status_code == 200


async def test_two_slugs_of_the_same_bytes_share_one_blob(gql: GraphQLClient, settings: Settings) -> None:
    # given two apps that each declare a slug of the very same tarball
    await create_app(gql, name="shop")
    await create_app(gql, name="blog")
    data = tarball()
    first = await declare(gql, "shop", data)
    second = await declare(gql, "blog", data)

    # when both are uploaded
    assert (await upload(gql.http, first["uploadUrl"], data)).status_code == 200
    assert (await upload(gql.http, second["uploadUrl"], data)).status_code == 200

    # then one blob holds both, and both slugs are uploaded
    assert len(stored_files(settings)) == 1
    assert (await slug_state(gql, first["slug"]["id"]))["uploaded"] is True
    assert (await slug_state(gql, second["slug"]["id"]))["uploaded"] is True


@pytest.mark.parametrize(
    ("overrides", "field", "needle"),
    [
        ({"commit": "a" * 65}, "commit", "longer than 64"),
        ({"commit": "abc\u0000def"}, "commit", "NUL"),
        ({"commitDescription": "fix\u0000"}, "commitDescription", "NUL"),
        ({"processTypes": {"web": "./bin/web\u0000"}}, "processTypes", "NUL"),
    ],
)
async def test_create_slug_refuses_text_the_database_cannot_hold(
    gql: GraphQLClient, overrides: dict[str, Any], field: str, needle: str
) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a slug is declared with an over-long commit or a NUL character in its text
    data = await gql(CREATE_SLUG, slug_input("shop", tarball(), **overrides))

    # then it is a user error on that field (not an internal error), and no slug exists
    payload = data["createSlug"]
    assert payload["slug"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID", field)
    assert needle in error["message"]


async def test_create_slug_accepts_a_full_length_commit(gql: GraphQLClient) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when a slug carries a 64-character commit (a SHA-256 git object name)
    created = await declare(gql, "shop", tarball(), commit="f" * 64)

    # then it is kept whole
    assert created["slug"]["commit"] == "f" * 64
