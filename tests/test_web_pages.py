"""The dashboard and GraphiQL pages: served from the build in web/dist, loading nothing from another host."""

from __future__ import annotations

import re

import httpx
import pytest

from pipegraph.settings import Settings
from tests.support.browser import require_browser

HTML = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
def built(settings: Settings) -> None:
    require_browser(settings, chromium=False)


async def test_graphiql_loads_only_our_own_assets_and_says_whose_code_it_is(client: httpx.AsyncClient) -> None:
    # when a browser opens the endpoint
    page = await client.get("/graphql", headers=HTML)

    # then GraphiQL's page refers only to files of this server, which a policy header enforces
    assert page.status_code == 200
    assert "<title>GraphiQL" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references, page.text
    for reference in references:
        assert reference.startswith(("/assets/", "data:")), reference
        if reference.startswith("/assets/"):
            assert (await client.get(reference)).status_code == 200, reference

    # and the third-party licenses ship with the build
    licenses = await client.get("/assets/THIRD_PARTY_LICENSES.txt")
    assert licenses.status_code == 200
    for package in ("graphiql", "react", "monaco-editor", "graphql-ws"):
        assert f"Name: {package}\n" in licenses.text, package


@pytest.mark.parametrize("path", ["/", "/pipelines/shop", "/pipelines/shop/history", "/apps/shop-prod"])
async def test_every_dashboard_address_serves_the_page(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert '<div id="root">' in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_a_missing_asset_is_a_404_not_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/nothing-here.js")

    assert response.status_code == 404
