"""The dashboard's data statement started while the request's credential is checked (api/speculation.py): used only
by the request whose check passed, read once, and dropped unseen when the check fails."""

from __future__ import annotations

import logging
import re

import httpx
import orjson
import pytest

from pipegraph.api.speculation import speculate
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore
from pipegraph.testing.seed import DASHBOARD_PIPELINE, seed_graph
from tests.support.clients import GraphQLClient
from tests.support.sql import StatementCounter
from tests.test_fast_path import DASHBOARD, TWO_PIPELINES, known, known_documents
from tests.test_tokens import REVOKE_TOKEN, create_token

# The compiled pipeline read's tree statement (reads/fetch.py).
TREE = re.compile(r"FROM pipelines p .*LEFT JOIN pipeline_couplings c")


def _body(name: str) -> bytes:
    return orjson.dumps({"query": DASHBOARD, "variables": {"name": name}})


async def test_a_known_dashboard_read_starts_before_the_check_and_is_read_once(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given the viewer's pipelines, and the dashboard's query answered once (so known, with its plan)
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    first = await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})
    assert known(client, DASHBOARD) is not None

    # then its body lets the tree read start before the check (and nothing starts for a name no pipeline can have)
    started = speculate(known_documents(client).get, _body(DASHBOARD_PIPELINE))
    assert started
    await started.discard()
    assert speculate(known_documents(client).get, _body("not a name!")) is None

    # when it is sent again
    sql_statements.statements.clear()
    again = await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})

    # then the answer is the same, and the tree was read once: the request took the read started for it
    assert again == first
    assert len([statement for statement in sql_statements.statements if TREE.search(statement)]) == 1


async def test_a_refused_credential_gets_the_same_refusal_and_nothing_is_logged_of_the_read(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given the dashboard's query known, and a second token of the viewer's, revoked
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})
    payload = await create_token(gql, "laptop")
    revoked = await gql(REVOKE_TOKEN, {"input": {"id": payload["apiToken"]["id"]}})
    assert revoked["revokeApiToken"]["userErrors"] == []

    # when the revoked token, then a token that never was, send the known query
    caplog.set_level(logging.INFO)
    caplog.clear()
    responses = [
        await client.post(
            "/graphql",
            content=_body(DASHBOARD_PIPELINE),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        for token in (payload["token"], "pg_never-issued")
    ]

    # then both are refused as always, with nothing of the pipeline, and no operation ran or was logged
    for response in responses:
        assert response.status_code == 401
        assert response.json() == {
            "data": None,
            "errors": [{"message": "invalid or revoked API token", "extensions": {"code": "UNAUTHENTICATED"}}],
        }
    assert not [record for record in caplog.records if record.getMessage().startswith("graphql ")]
    assert DASHBOARD_PIPELINE not in caplog.text
