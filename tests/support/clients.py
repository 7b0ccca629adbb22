"""Actors (a user and a token of theirs) and the GraphQL client that speaks for one over the real ASGI app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from pipegraph.accounts.models import User
from pipegraph.accounts.service import create_token, get_or_create_user


@dataclass
class Actor:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_actor(email: str = "ada@example.com") -> Actor:
    user = await get_or_create_user(email)
    _, token = await create_token(user, description="test")
    return Actor(user=user, token=token)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, actor: Actor) -> None:
        self.http = http
        self.actor = actor

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.actor.headers
        )
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a request that must succeed without GraphQL errors."""
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data
