"""Upload URLs point where the client reached the API: PIPEGRAPH_PUBLIC_URL, or else the request's scheme and host."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from pipegraph.api.app import create_app as create_asgi_app
from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import CREATE_SLUG, create_app
from tests.support.tarballs import checksum_of, tarball


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every server of this module, live_server's included, runs without PIPEGRAPH_PUBLIC_URL."""
    return replace(settings, public_url="")


async def _upload_url(gql: GraphQLClient) -> str:
    await create_app(gql, name="shop")
    data = tarball()
    variables = {"input": {"app": "shop", "checksum": checksum_of(data), "processTypes": {"web": "./bin/web"}}}
    created = (await gql(CREATE_SLUG, variables))["createSlug"]
    assert created["userErrors"] == [], created
    url: str = created["uploadUrl"]
    return url


@pytest.mark.parametrize(
    "origin", ["http://pipegraph.internal:9000", "http://127.0.0.1:8123", "https://deploy.example.com"]
)
async def test_without_a_public_url_the_upload_url_is_where_the_request_came_in(
    settings: Settings, viewer: Actor, origin: str
) -> None:
    # given a server with no PIPEGRAPH_PUBLIC_URL
    transport = httpx.ASGITransport(app=create_asgi_app(settings, manage_db=False))
    async with httpx.AsyncClient(transport=transport, base_url=origin) as http:
        # when a slug is declared through it
        url = await _upload_url(GraphQLClient(http, viewer))

    # then its upload URL is on the scheme and host the client used
    assert url.startswith(f"{origin}/slugs/")


async def test_a_configured_public_url_wins_over_the_request(settings: Settings, viewer: Actor) -> None:
    app = create_asgi_app(replace(settings, public_url="https://cd.example.com/pipegraph"), manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:9000") as http:
        url = await _upload_url(GraphQLClient(http, viewer))
    assert url.startswith("https://cd.example.com/pipegraph/slugs/")


def test_public_url_is_unset_unless_configured() -> None:
    assert Settings.from_env({"PIPEGRAPH_SECRET_KEY": "x"}).public_url == ""
    configured = {"PIPEGRAPH_SECRET_KEY": "x", "PIPEGRAPH_PUBLIC_URL": "https://cd.example.com/"}
    assert Settings.from_env(configured).public_url == "https://cd.example.com"


async def test_a_server_on_another_port_hands_out_upload_urls_that_work(live_server: str, viewer: Actor) -> None:
    # given the real server on a free port (not 8000), without PIPEGRAPH_PUBLIC_URL
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        # when a slug is declared and its bytes PUT to the upload URL exactly as handed out
        url = await _upload_url(GraphQLClient(http, viewer))
        response = await http.put(url, content=tarball())

    # then the URL named this server's port, and the upload went through
    assert url.startswith(f"http://{live_server}/slugs/")
    assert response.status_code == 200, response.text
