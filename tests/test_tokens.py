"""API tokens: made, listed and revoked through GraphQL and through `pipegraph tokens`; revocation bites at once."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipegraph.accounts.models import ApiToken
from pipegraph.settings import Settings
from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.sql import StatementCounter

PIPEGRAPH = str(Path(sys.executable).parent / "pipegraph")

VIEWER = "query { viewer { email } }"

CREATE_TOKEN = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) {
    token
    apiToken { id description createdAt lastUsedAt revokedAt }
    userErrors { field message code }
  }
}"""

REVOKE_TOKEN = """
mutation($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) {
    apiToken { id revokedAt }
    userErrors { field message code }
  }
}"""

MY_TOKENS = """
query($first: Int, $after: String) {
  viewer {
    apiTokens(first: $first, after: $after) {
      edges { node { id description createdAt lastUsedAt revokedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

TOKEN_NODE = "query($id: ID!) { node(id: $id) { __typename ... on ApiToken { id description } } }"


def global_id(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def create_token(gql: GraphQLClient, description: str = "") -> dict[str, Any]:
    payload: dict[str, Any] = (await gql(CREATE_TOKEN, {"input": {"description": description}}))["createApiToken"]
    assert payload["userErrors"] == []
    return payload


async def status(http: httpx.AsyncClient, token: str) -> int:
    response = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


# --- GraphQL ------------------------------------------------------------------------------------------------------


async def test_create_api_token_shows_the_secret_once_and_it_authenticates(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # when the viewer makes a token
    payload = await create_token(gql, "ci deploys")

    # then the secret is in the payload, works as the viewer, and is never shown again by the listing
    assert payload["token"].startswith("pgt_")
    assert payload["apiToken"]["description"] == "ci deploys"
    assert payload["apiToken"]["revokedAt"] is None
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {payload['token']}"}
    )
    assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}
    listing = await gql.raw(MY_TOKENS)
    assert payload["token"] not in str(listing)
    assert payload["apiToken"]["id"] in [edge["node"]["id"] for edge in listing["data"]["viewer"]["apiTokens"]["edges"]]


async def test_a_description_over_200_characters_is_a_user_error(gql: GraphQLClient) -> None:
    # when a token is asked for with an overlong description
    data = await gql(CREATE_TOKEN, {"input": {"description": "x" * 201}})

    # then nothing is made, and the field is named
    assert data["createApiToken"]["token"] is None
    assert data["createApiToken"]["userErrors"] == [
        {"field": "description", "message": "a description has at most 200 characters", "code": "INVALID"}
    ]
    assert await ApiToken.all().count() == 1  # the fixture's


async def test_api_tokens_are_listed_newest_first_page_by_page(gql: GraphQLClient) -> None:
    # given the fixture's token and three more
    for name in ("one", "two", "three"):
        await create_token(gql, name)

    # when they are paged two at a time
    first = (await gql(MY_TOKENS, {"first": 2}))["viewer"]["apiTokens"]
    second = (await gql(MY_TOKENS, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["viewer"]["apiTokens"]

    # then newest first, all of them, without overlap
    assert [edge["node"]["description"] for edge in first["edges"]] == ["three", "two"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["description"] for edge in second["edges"]] == ["one", "test"]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_a_revoked_token_is_refused_on_the_very_next_request(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a second token that works
    payload = await create_token(gql, "laptop")
    assert await status(client, payload["token"]) == 200

    # when the viewer revokes it
    data = await gql(REVOKE_TOKEN, {"input": {"id": payload["apiToken"]["id"]}})

    # then it says when, the very next request with it is a 401, and the viewer's other token still works
    revoked = data["revokeApiToken"]
    assert revoked["userErrors"] == []
    assert revoked["apiToken"]["revokedAt"] is not None
    assert await status(client, payload["token"]) == 401
    assert await status(client, gql.actor.token) == 200


async def test_revoking_twice_keeps_the_first_revocation(gql: GraphQLClient) -> None:
    # given a revoked token
    token_id = (await create_token(gql))["apiToken"]["id"]
    first = (await gql(REVOKE_TOKEN, {"input": {"id": token_id}}))["revokeApiToken"]

    # when it is revoked again
    second = (await gql(REVOKE_TOKEN, {"input": {"id": token_id}}))["revokeApiToken"]

    # then that succeeds and changes nothing
    assert second == first
    assert second["userErrors"] == []


async def test_a_token_can_revoke_itself(client: httpx.AsyncClient, gql: GraphQLClient, viewer: Actor) -> None:
    # given the viewer's own token's id
    [token] = (await gql(MY_TOKENS))["viewer"]["apiTokens"]["edges"]

    # when the request revokes the token it was sent with
    data = await gql(REVOKE_TOKEN, {"input": {"id": token["node"]["id"]}})

    # then it succeeded, and the token is refused from then on
    assert data["revokeApiToken"]["userErrors"] == []
    assert await status(client, viewer.token) == 401


async def test_someone_elses_token_is_not_found_and_untouched(client: httpx.AsyncClient, gql: GraphQLClient) -> None:
    # given another user's token
    grace = await make_actor("grace@example.com")
    [theirs] = await ApiToken.filter(user_id=grace.user.id)
    their_id = global_id("ApiToken", theirs.id)

    # when the viewer tries to revoke it, or fetch it
    data = await gql(REVOKE_TOKEN, {"input": {"id": their_id}})
    node = (await gql(TOKEN_NODE, {"id": their_id}))["node"]

    # then it is not found, exactly like a token that does not exist, and it still works
    missing = await gql(REVOKE_TOKEN, {"input": {"id": global_id("ApiToken", theirs.id + 1000)}})
    assert data["revokeApiToken"]["userErrors"] == [
        {"field": "id", "message": f"API token {their_id} not found", "code": "NOT_FOUND"}
    ]
    assert missing["revokeApiToken"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert data["revokeApiToken"]["apiToken"] is None
    assert node is None
    assert await status(client, grace.token) == 200
    assert (await ApiToken.get(id=theirs.id)).revoked_at is None


async def test_another_type_of_id_is_not_a_token(gql: GraphQLClient, viewer: Actor) -> None:
    # when revokeApiToken gets a User ID with the number of the viewer's token
    [token] = await ApiToken.filter(user_id=viewer.user.id)
    data = await gql(REVOKE_TOKEN, {"input": {"id": global_id("User", token.id)}})

    # then it is not found and the token lives on
    assert data["revokeApiToken"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await ApiToken.get(id=token.id)).revoked_at is None


async def test_own_token_resolves_through_node(gql: GraphQLClient) -> None:
    # given a token of the viewer
    payload = await create_token(gql, "mine")

    # when it is fetched by its global ID
    node = (await gql(TOKEN_NODE, {"id": payload["apiToken"]["id"]}))["node"]

    # then it is there
    assert node == {"__typename": "ApiToken", "id": payload["apiToken"]["id"], "description": "mine"}


async def test_anothers_tokens_stay_out_of_the_viewers_list(gql: GraphQLClient) -> None:
    # given another user with tokens
    await make_actor("grace@example.com")
    await make_actor("grace@example.com")

    # when the viewer lists tokens
    edges = (await gql(MY_TOKENS))["viewer"]["apiTokens"]["edges"]

    # then only the viewer's own is there
    assert [edge["node"]["description"] for edge in edges] == ["test"]


# --- last use -----------------------------------------------------------------------------------------------------


async def test_last_used_at_is_recorded_on_first_use(client: httpx.AsyncClient, viewer: Actor) -> None:
    # given a token never used
    [token] = await ApiToken.filter(user_id=viewer.user.id)
    assert token.last_used_at is None
    before = datetime.now(UTC)

    # when it is used
    assert await status(client, viewer.token) == 200

    # then its last use is recorded
    used = (await ApiToken.get(id=token.id)).last_used_at
    assert used is not None
    assert used >= before - timedelta(seconds=1)


async def test_a_recent_use_is_not_written_again(
    client: httpx.AsyncClient, viewer: Actor, sql_statements: StatementCounter
) -> None:
    # given a token used a moment ago
    assert await status(client, viewer.token) == 200
    recorded = (await ApiToken.get(user_id=viewer.user.id)).last_used_at
    sql_statements.statements.clear()

    # when it is used again
    assert await status(client, viewer.token) == 200

    # then authentication only read: no UPDATE, and the time stays
    assert not [sql for sql in sql_statements.statements if sql.upper().startswith("UPDATE")]
    assert (await ApiToken.get(user_id=viewer.user.id)).last_used_at == recorded


async def test_an_old_last_use_is_moved_forward(client: httpx.AsyncClient, viewer: Actor) -> None:
    # given a token last used an hour ago
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    await ApiToken.filter(user_id=viewer.user.id).update(last_used_at=an_hour_ago)

    # when it is used
    assert await status(client, viewer.token) == 200

    # then the last use is now, no longer an hour ago
    used = (await ApiToken.get(user_id=viewer.user.id)).last_used_at
    assert used is not None
    assert used > an_hour_ago + timedelta(minutes=59)


# --- the CLI, as a real process on the same database ---------------------------------------------------------------


async def cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL"}}
    env["DATABASE_URL"] = settings.database_url
    env["PIPEGRAPH_DATA_DIR"] = str(settings.data_dir)
    process = await asyncio.create_subprocess_exec(
        PIPEGRAPH, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_lists_a_users_tokens_without_their_secrets(settings: Settings, gql: GraphQLClient) -> None:
    # given two tokens of the viewer, one revoked and one used
    kept = await create_token(gql, "laptop")
    gone = await create_token(gql, "old ci")
    await gql(REVOKE_TOKEN, {"input": {"id": gone["apiToken"]["id"]}})

    # when `pipegraph tokens list` is run for the viewer
    code, out, err = await cli(settings, "tokens", "list", "--email", "ADA@example.com")

    # then each token is a row, newest first, with its state, and no secret appears
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "DESCRIPTION", "CREATED", "LAST", "USED", "REVOKED"]
    assert [row.split()[1] for row in rows] == ["old", "laptop", "test"]
    ids = [int(row.split()[0]) for row in rows]
    assert ids == sorted(ids, reverse=True)
    revoked_row, laptop_row, fixture_row = rows
    assert revoked_row.endswith("Z")  # a revocation time
    assert laptop_row.endswith("-")  # not revoked
    assert fixture_row.split()[-2].endswith("Z")  # the fixture's token was used by the mutations above
    for secret in (kept["token"], gone["token"], gql.actor.token):
        assert secret not in out


async def test_cli_list_of_an_unknown_user_says_so(settings: Settings) -> None:
    # when tokens are listed for an email nobody has
    code, out, err = await cli(settings, "tokens", "list", "--email", "nobody@example.com")

    # then it is a usage error naming the email
    assert code == 2
    assert "user nobody@example.com not found" in err
    assert "Traceback" not in err
    assert out == ""


async def test_cli_revoke_takes_effect_at_once_and_can_repeat(
    settings: Settings, client: httpx.AsyncClient, viewer: Actor
) -> None:
    # given a token that works
    [token] = await ApiToken.filter(user_id=viewer.user.id)
    assert await status(client, viewer.token) == 200

    # when `pipegraph tokens revoke` is run with its id, twice
    first = await cli(settings, "tokens", "revoke", str(token.id))
    second = await cli(settings, "tokens", "revoke", str(token.id))

    # then the running API refuses it on the next request, and the repeat succeeds with the same revocation time
    assert first[0] == 0, first[2]
    assert first[1].startswith(f"token {token.id} revoked")
    assert await status(client, viewer.token) == 401
    assert second[0] == 0, second[2]
    assert second[1] == first[1]


@pytest.mark.parametrize(("token_id", "needle"), [("999999", "API token 999999 not found"), ("abc", "not a token id")])
async def test_cli_revoke_of_an_unknown_id_says_so(settings: Settings, token_id: str, needle: str) -> None:
    # when a token id that names no token is revoked
    code, out, err = await cli(settings, "tokens", "revoke", token_id)

    # then it is a usage error pointing to `tokens list`
    assert code == 2
    assert needle in err
    assert "tokens list" in err
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "x"])
async def test_a_forged_token_cursor_is_a_clear_error(gql: GraphQLClient, value: str) -> None:
    # given a cursor of the right kind around a number no key can be, or no number
    cursor = base64.urlsafe_b64encode(f"apitoken:{value}".encode()).decode()

    # when the viewer's tokens are paged with it
    body = await gql.raw(MY_TOKENS, {"after": cursor})

    # then it is a clear cursor error, not an internal one
    [error] = body["errors"]
    assert "`after` is not a cursor of this list" in error["message"]
