"""Helpers for the team, ownership and access tests: several actors, each with their own client, set up via the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.clients import GraphQLClient, make_actor
from tests.support.factories import CREATE_APP, CREATE_PIPELINE

CREATE_TEAM = """
mutation($input: CreateTeamInput!) {
  createTeam(input: $input) {
    team { id name kind members { role user { email } } }
    userErrors { field message code }
  }
}"""

ADD_MEMBER = """
mutation($input: AddTeamMemberInput!) {
  addTeamMember(input: $input) { team { name members { role user { email } } } userErrors { field message code } }
}"""


async def actor(http: httpx.AsyncClient, email: str) -> GraphQLClient:
    return GraphQLClient(http, await make_actor(email))


async def create_team(gql: GraphQLClient, *, name: str, kind: str = "TEAM") -> dict[str, Any]:
    data = await gql(CREATE_TEAM, {"input": {"name": name, "kind": kind}})
    assert data["createTeam"]["userErrors"] == [], data
    team: dict[str, Any] = data["createTeam"]["team"]
    return team


async def add_member(gql: GraphQLClient, *, team: str, user: str, role: str) -> None:
    data = await gql(ADD_MEMBER, {"input": {"team": team, "user": user, "role": role}})
    assert data["addTeamMember"]["userErrors"] == [], data


async def team_app(gql: GraphQLClient, *, name: str, team: str | None) -> dict[str, Any]:
    data = await gql(CREATE_APP, {"input": {"name": name, "team": team}})
    assert data["createApp"]["userErrors"] == [], data
    app: dict[str, Any] = data["createApp"]["app"]
    return app


async def team_pipeline(gql: GraphQLClient, *, name: str, app: str, team: str | None) -> dict[str, Any]:
    data = await gql(CREATE_PIPELINE, {"input": {"name": name, "app": app, "team": team, "stage": "STAGING"}})
    assert data["createPipeline"]["userErrors"] == [], data
    pipeline: dict[str, Any] = data["createPipeline"]["pipeline"]
    return pipeline
