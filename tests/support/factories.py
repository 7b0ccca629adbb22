"""Keyword-only helpers that set the scene through the real API (or services where the API is not the subject)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.clients import GraphQLClient
from tests.support.tarballs import checksum_of, tarball

CREATE_APP = """
mutation($input: CreateAppInput!) {
  createApp(input: $input) { app { id name stack } userErrors { field message code } }
}"""

CREATE_SLUG = """
mutation($input: CreateSlugInput!) {
  createSlug(input: $input) {
    slug { id checksum stack processTypes commit uploaded }
    uploadUrl
    userErrors { field message code }
  }
}"""

CREATE_RELEASE = """
mutation($input: CreateReleaseInput!) {
  createRelease(input: $input) {
    release { id version status current description slug { id commit } }
    userErrors { field message code }
  }
}"""

CREATE_PIPELINE = """
mutation($input: CreatePipelineInput!) {
  createPipeline(input: $input) { pipeline { id name } userErrors { field message code } }
}"""

ADD_APP_TO_PIPELINE = """
mutation($input: AddAppToPipelineInput!) {
  addAppToPipeline(input: $input) { pipeline { name } app { name stage } userErrors { field message code } }
}"""


async def create_app(gql: GraphQLClient, *, name: str, stack: str | None = None) -> dict[str, Any]:
    data = await gql(CREATE_APP, {"input": {"name": name, "stack": stack}})
    assert data["createApp"]["userErrors"] == [], data
    app: dict[str, Any] = data["createApp"]["app"]
    return app


async def upload(http: httpx.AsyncClient, upload_url: str, data: bytes) -> httpx.Response:
    parts = urlsplit(upload_url)
    return await http.put(f"{parts.path}?{parts.query}", content=data)


async def create_slug(
    gql: GraphQLClient,
    *,
    app: str,
    data: bytes,
    process_types: dict[str, str] | None = None,
    commit: str = "0123456789abcdef",
    stack: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """Declare a slug and upload its bytes; returns the createSlug payload."""
    payload = await gql(
        CREATE_SLUG,
        {
            "input": {
                "app": app,
                "checksum": checksum_of(data),
                "processTypes": process_types or {"web": "./bin/web"},
                "commit": commit,
                "commitDescription": message or f"commit {commit}",
                "stack": stack,
            }
        },
    )
    created: dict[str, Any] = payload["createSlug"]
    assert created["userErrors"] == [], created
    response = await upload(gql.http, created["uploadUrl"], data)
    assert response.status_code == 200, response.text
    return created


async def deploy(
    gql: GraphQLClient,
    *,
    app: str,
    files: dict[str, str | bytes] | None = None,
    process_types: dict[str, str] | None = None,
    commit: str = "0123456789abcdef",
    stack: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """Slug + upload + release, as a build would; returns the release."""
    slug = await create_slug(
        gql,
        app=app,
        data=tarball(files or {"README": commit}),
        process_types=process_types,
        commit=commit,
        stack=stack,
        message=message,
    )
    data = await gql(CREATE_RELEASE, {"input": {"app": app, "slug": slug["slug"]["id"]}})
    assert data["createRelease"]["userErrors"] == [], data
    release: dict[str, Any] = data["createRelease"]["release"]
    return release


async def create_pipeline(gql: GraphQLClient, *, name: str, app: str, stage: str | None = None) -> dict[str, Any]:
    data = await gql(CREATE_PIPELINE, {"input": {"name": name, "app": app, "stage": stage}})
    assert data["createPipeline"]["userErrors"] == [], data
    pipeline: dict[str, Any] = data["createPipeline"]["pipeline"]
    return pipeline


async def add_app(gql: GraphQLClient, *, pipeline: str, app: str, stage: str) -> None:
    data = await gql(ADD_APP_TO_PIPELINE, {"input": {"pipeline": pipeline, "app": app, "stage": stage}})
    assert data["addAppToPipeline"]["userErrors"] == [], data
