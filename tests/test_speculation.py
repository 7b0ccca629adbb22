"""The dashboard's data statement read in the round trip that checks the request's credential (api/speculation.py), on
PostgreSQL: one statement, used only by the request whose check passed; a refused credential reads no tree row and
gets the refusal it always got."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import orjson
import pytest
from tortoise.connection import connections

from pipegraph.access.preload import LIVE_TOKEN, _along_sql
from pipegraph.accounts.service import hash_token
from pipegraph.accounts.sessions import end_session
from pipegraph.api.fast_path import FastPathSchema
from pipegraph.api.speculation import speculate
from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore
from pipegraph.testing.seed import DASHBOARD_PIPELINE, seed_graph
from tests.support.clients import GraphQLClient, make_actor
from tests.support.database import is_postgres
from tests.support.sql import StatementCounter
from tests.test_browser_sessions import cookie, sign_in
from tests.test_fast_path import DASHBOARD, TWO_PIPELINES, known
from tests.test_pipeline_access import GRANT
from tests.test_tokens import REVOKE_TOKEN, create_token

# The compiled pipeline read's tree statement (reads/fetch.py), and the credential's (access/preload.py).
TREE = re.compile(r"FROM pipelines p .*LEFT JOIN pipeline_couplings c")
CREDENTIAL = re.compile(r'"token_hash" = \$1|"secret_hash" = \$1')
REFUSED = {
    "data": None,
    "errors": [{"message": "invalid or revoked API token", "extensions": {"code": "UNAUTHENTICATED"}}],
}
TREE_TABLES = {"pipelines", "pipeline_couplings", "apps", "releases", "slugs"}

postgres_only = pytest.mark.skipif(not is_postgres(), reason="the read along joins LATERAL: PostgreSQL's")


def _schema(client: httpx.AsyncClient) -> FastPathSchema:
    schema: FastPathSchema = client._transport.app.state.schema  # type: ignore[attr-defined]
    return schema


def _body(name: str) -> bytes:
    return orjson.dumps({"query": DASHBOARD, "variables": {"name": name}})


async def _post(client: httpx.AsyncClient, headers: dict[str, str], name: str = DASHBOARD_PIPELINE) -> httpx.Response:
    return await client.post("/graphql", content=_body(name), headers={**headers, "Content-Type": "application/json"})


async def _known_dashboard(client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient) -> dict[str, Any]:
    """The viewer's pipelines, and the dashboard's query answered once (so known, with its plan): its answer."""
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    first = await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})
    assert known(client, DASHBOARD) is not None
    return first


@postgres_only
async def test_a_known_dashboard_read_is_one_statement_with_the_credential_check(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given the dashboard's query known
    first = await _known_dashboard(client, settings, gql)

    # then its body lets the tree be read along (and nothing for a name no pipeline can have)
    assert speculate(_schema(client), _body(DASHBOARD_PIPELINE)) is not None
    assert speculate(_schema(client), _body("not a name!")) is None

    # when it is sent again, and for a pipeline that does not exist
    sql_statements.statements.clear()
    again = await gql(DASHBOARD, {"name": DASHBOARD_PIPELINE})
    statements = list(sql_statements.statements)
    sql_statements.statements.clear()
    missing = await gql(DASHBOARD, {"name": "no-such-pipeline"})

    # then the answers are the resolvers' as before, each read by the one statement that checked the token
    assert again == first
    assert missing == {"pipeline": None}
    for read in (statements, sql_statements.statements):
        assert len(read) == 1
        assert TREE.search(read[0])
        assert CREDENTIAL.search(read[0])


@postgres_only
async def test_a_viewer_who_may_not_see_the_pipeline_gets_null_from_the_read_along(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given the dashboard's query known, and another user, who sees none of the viewer's personal pipelines
    await _known_dashboard(client, settings, gql)
    stranger = await make_actor("grace@example.com")

    # when they ask for the viewer's pipeline
    sql_statements.statements.clear()
    response = await _post(client, stranger.headers)

    # then it is null, as the resolvers answer, though the statement read the tree (a new token's first use is also
    # recorded: an UPDATE)
    assert response.status_code == 200
    assert response.json() == {"data": {"pipeline": None}}
    reads = [statement for statement in sql_statements.statements if statement.startswith("SELECT")]
    assert len(reads) == 1
    assert TREE.search(reads[0])


@postgres_only
async def test_a_session_cookie_reads_the_dashboard_along_too_and_an_ended_one_is_refused(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given the dashboard's query known, and the viewer signed in in a browser
    first = await _known_dashboard(client, settings, gql)
    session = await sign_in(client)

    # when the page sends it
    sql_statements.statements.clear()
    response = await _post(client, cookie(session))

    # then it is the same answer, in one statement
    assert response.json() == {"data": first}
    assert len(sql_statements.statements) == 1
    assert TREE.search(sql_statements.statements[0])

    # and once signed out, the page is refused as always
    await end_session(session)
    refused = await _post(client, cookie(session))
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert refused.json()["errors"][0]["message"].startswith("your browser session ended or expired")


async def test_a_token_revoked_between_two_requests_is_refused_on_the_second(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given the dashboard's query known, and a second token of the viewer's that reads it
    first = await _known_dashboard(client, settings, gql)
    payload = await create_token(gql, "laptop")
    headers = {"Authorization": f"Bearer {payload['token']}"}
    answered = await _post(client, headers)
    assert answered.status_code == 200
    assert answered.json() == {"data": first}

    # when it is revoked, and sends the query again
    revoked = await gql(REVOKE_TOKEN, {"input": {"id": payload["apiToken"]["id"]}})
    assert revoked["revokeApiToken"]["userErrors"] == []
    response = await _post(client, headers)

    # then it is refused at once, word for word, with nothing of the pipeline
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="pipegraph"'
    assert response.json() == REFUSED


async def test_a_refused_credential_gets_the_same_refusal_and_nothing_is_logged_of_the_read(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given the dashboard's query known, and a second token of the viewer's, revoked
    await _known_dashboard(client, settings, gql)
    payload = await create_token(gql, "laptop")
    revoked = await gql(REVOKE_TOKEN, {"input": {"id": payload["apiToken"]["id"]}})
    assert revoked["revokeApiToken"]["userErrors"] == []

    # when the revoked token, then a token that never was, send the known query
    caplog.set_level(logging.INFO)
    caplog.clear()
    responses = [
        await _post(client, {"Authorization": f"Bearer {token}"}) for token in (payload["token"], "pg_never-issued")
    ]

    # then both are refused as always, with nothing of the pipeline, and no operation ran or was logged
    for response in responses:
        assert response.status_code == 401
        assert response.json() == REFUSED
    assert not [record for record in caplog.records if record.getMessage().startswith("graphql ")]
    assert DASHBOARD_PIPELINE not in caplog.text


@postgres_only
async def test_a_revoked_token_s_statement_reads_no_tree_row_at_all(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given the dashboard's query known, and a second token of the viewer's, revoked
    await _known_dashboard(client, settings, gql)
    payload = await create_token(gql, "laptop")
    await gql(REVOKE_TOKEN, {"input": {"id": payload["apiToken"]["id"]}})

    # when the statement its request sends is run for it, and for the live token, as the server runs it
    speculation = speculate(_schema(client), _body(DASHBOARD_PIPELINE))
    assert speculation is not None
    sql = _along_sql(LIVE_TOKEN, speculation.along)
    plans = {
        token: await _plan_nodes(sql, [hash_token(token), DASHBOARD_PIPELINE])
        for token in (payload["token"], gql.actor.token)
    }

    # then for the revoked token no node over the tree's tables ever ran; for the live one they did
    revoked_nodes = [node for node in plans[payload["token"]] if node.get("Relation Name") in TREE_TABLES]
    assert revoked_nodes
    assert all(node["Actual Loops"] == 0 for node in revoked_nodes)
    assert any(node["Actual Rows"] > 0 for node in plans[gql.actor.token] if node.get("Relation Name") == "apps")


async def _plan_nodes(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Every node of the statement's plan, as PostgreSQL ran it (EXPLAIN ANALYZE)."""
    rows = await connections.get("default").execute_query_dict(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", values)
    found: list[dict[str, Any]] = []
    pending = [orjson.loads(rows[0]["QUERY PLAN"])[0]["Plan"]]
    while pending:
        node = pending.pop()
        found.append(node)
        pending.extend(node.get("Plans", []))
    return found


ALIASED = "query Board($name: String!) { board: pipeline(name: $name) { name stages { name apps { name } } } }"
LITERAL = '{ pipeline(name: "shop") { name stages { apps { name } } } }'
PAGED = """
query Paged($name: String!, $first: Int) {
  pipeline(name: $name) { stages { apps { name releases(first: $first) { edges { node { version } } } } } }
}"""


async def _send(client: httpx.AsyncClient, gql: GraphQLClient, body: dict[str, Any]) -> httpx.Response:
    headers = {**gql.actor.headers, "Content-Type": "application/json"}
    return await client.post("/graphql", content=orjson.dumps(body), headers=headers)


async def test_a_known_dashboard_answered_from_the_read_along_is_the_views_answer_byte_for_byte(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given the viewer's pipelines
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    caplog.set_level(logging.INFO)

    for query in (DASHBOARD, ALIASED, LITERAL):
        body = {"query": query, "variables": {"name": DASHBOARD_PIPELINE}}
        # when a document is sent a first time (the view answers, and knows it), then again (answered from the read
        # along: one statement)
        first = await _send(client, gql, body)
        caplog.clear()
        again = await _send(client, gql, body)

        # then the second answer is the first, byte for byte, with the same status and content type, and logged as
        # an operation that ran
        assert first.status_code == again.status_code == 200
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
        logged = [record.getMessage().split(" in ")[0] for record in caplog.records]
        assert len([line for line in logged if line.startswith("graphql query ") and line.endswith(" ok")]) == 1
        assert not again.json().get("errors")


async def test_a_known_dashboard_answered_from_the_read_along_is_counted_and_logged_once_its_answer_is_sent(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given the dashboard's query known
    await _known_dashboard(client, settings, gql)
    app = client._transport.app  # type: ignore[attr-defined]
    body = _body(DASHBOARD_PIPELINE)
    headers = {**gql.actor.headers, "Content-Type": "application/json", "Content-Length": str(len(body))}
    events: list[str] = []

    class Timeline(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("graphql "):
                events.append("logged")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    timeline = Timeline()
    logger = logging.getLogger("pipegraph")
    logger.addHandler(timeline)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        # when it is sent again, answered from the read along
        await app(scope, receive, send)
    finally:
        logger.removeHandler(timeline)
        logger.setLevel(previous)

    # then the client has its whole answer before the operation is counted and logged (once)
    assert events == ["http.response.start", "http.response.body", "logged"]


async def test_a_variable_below_the_root_is_read_with_its_value_of_this_request(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given the viewer's pipelines, two releases per app
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))

    # when the same document asks for one release per app, then for two, each twice (known from the second on)
    counts = []
    for first in (1, 1, 2, 2, 1):
        response = await _send(client, gql, {"query": PAGED, "variables": {"name": DASHBOARD_PIPELINE, "first": first}})
        stages = response.json()["data"]["pipeline"]["stages"]
        counts.append({len(app["releases"]["edges"]) for stage in stages for app in stage["apps"]})

    # then each answer has the pages its own request asked for
    assert counts == [{1}, {1}, {2}, {2}, {1}]


async def test_a_body_the_view_refuses_is_refused_as_before_though_its_query_is_known(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient
) -> None:
    # given a document with the pipeline's name written in it, known
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    assert (await _send(client, gql, {"query": LITERAL})).status_code == 200

    # when it comes with variables that are not an object
    response = await _send(client, gql, {"query": LITERAL, "variables": [1]})

    # then the view's refusal is the answer
    assert response.status_code == 400
    assert "`variables` must be an object or null, not a list" in response.text


async def test_a_known_query_with_fields_left_to_resolvers_reads_its_tree_once(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given a known query whose pipeline has a field the compiled reads leave to its resolver (a mixed plan)
    await seed_graph(TWO_PIPELINES, owner=gql.actor.user, store=LocalSlugStore(settings.slug_dir))
    mixed = "query($name: String!) { pipeline(name: $name) { name transfers { createdAt } } }"
    first = await gql(mixed, {"name": DASHBOARD_PIPELINE})

    # when it is sent again
    sql_statements.statements.clear()
    again = await gql(mixed, {"name": DASHBOARD_PIPELINE})

    # then the view answers it as before, and the tree was read once (with the credential's statement on PostgreSQL)
    assert again == first
    assert len([statement for statement in sql_statements.statements if TREE.search(statement)]) == 1


async def test_an_access_tab_grant_holder_gets_the_pipeline_from_the_known_read_without_its_apps(
    client: httpx.AsyncClient, settings: Settings, gql: GraphQLClient, sql_statements: StatementCounter
) -> None:
    # given the dashboard's query known, and a user holding only a grant of the pipeline's Access tab
    await _known_dashboard(client, settings, gql)
    grantee = await make_actor("grace@example.com")
    granted = await gql(
        GRANT, {"input": {"pipeline": DASHBOARD_PIPELINE, "user": grantee.user.email, "permissions": ["VIEW"]}}
    )
    assert granted["grantPipelineAccess"]["userErrors"] == []

    # when they ask for it, answered through the known query's own read (along with the credential on PostgreSQL)
    sql_statements.statements.clear()
    response = await _post(client, grantee.headers)

    # then they see the pipeline and its stages, as the resolvers answer, but none of its apps
    pipeline = response.json()["data"]["pipeline"]
    assert pipeline["name"] == DASHBOARD_PIPELINE
    assert pipeline["stages"]
    assert all(stage["apps"] == [] for stage in pipeline["stages"])
    reads = [statement for statement in sql_statements.statements if statement.startswith("SELECT")]
    assert len(reads) == (1 if is_postgres() else 2)
