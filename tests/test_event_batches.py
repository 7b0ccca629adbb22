"""A batch of planned subscription events (api/event_batches.py) sent as one result: over a real WebSocket, in both
protocols, a promotion's burst reaches a socket as the very messages graphql-core's one result per event makes, in
order; and a batch is split around an event the plan leaves to graphql-core."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from starlette.websockets import WebSocket
from workers.runner import in_process_worker

from pipegraph.api.event_batches import Built, PlannedEvents, made_events, planned_runs, while_reading
from pipegraph.api.event_plans import event_plan
from pipegraph.api.json_output import TextFrameWebSocket, around_data, dumps
from pipegraph.schema import schema
from pipegraph.settings import Settings
from tests.support.clients import GraphQLClient
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import deploy_release_script, promote, shop_pipeline
from tests.support.sandbox import expected_log
from tests.support.sql import StatementCounter
from tests.support.team_scene import actor
from tests.support.ws_client import LEGACY_WS, PATIENCE_SECONDS, TRANSPORT_WS, connect, init, receive, start, text_frame
from tests.test_event_plans import _events

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
APPS = tuple(f"shop-prod-{number}" for number in range(6))
FIELDS = "step sequence status errorMessage target { id status updatedAt }"
PLANNED = f"subscription($id: ID!) {{ promotionProgress(id: $id) {{ {FIELDS} }} }}"
# The same selection through an inline fragment, which the plans leave to graphql-core (api/event_plans.py).
EXECUTED = f"subscription($id: ID!) {{ promotionProgress(id: $id) {{ ... on PromotionProgress {{ {FIELDS} }} }} }}"


def _operation(document: str) -> OperationDefinitionNode:
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation


async def _frames_until_complete(ws: Any) -> list[str]:
    """Every text frame the server sends, as sent, until the subscription completes."""
    frames: list[str] = []
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            frame = text_frame(await ws.recv())
            frames.append(frame)
            if json.loads(frame)["type"] == "complete":
                return frames


async def _staging_deployed(gql: GraphQLClient, jobs: JobRunner) -> None:
    """A pipeline whose staging app, deployed without a release phase, promotes to APPS (one batch job: every
    target's events in one burst)."""
    await shop_pipeline(gql, production=APPS)
    await deploy(gql, app="shop-staging")
    await jobs.drain()


async def _burst(
    gql: GraphQLClient, settings: Settings, host: str, protocol: str, operation_id: str = "1"
) -> tuple[list[str], list[str]]:
    """A promotion followed by a socket with PLANNED and one with EXECUTED, then run: each socket's frames."""
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    async with AsyncExitStack() as stack:
        sockets, snapshots = [], []
        for document in (PLANNED, EXECUTED):
            ws = await stack.enter_async_context(connect(host, protocol))
            await init(ws, {"Authorization": f"Bearer {gql.actor.token}"})
            assert (await receive(ws))["type"] == "connection_ack"
            await start(ws, protocol, document, {"id": promotion_id}, operation_id=operation_id)
            # Its snapshot (a message per target) in before the worker starts: a subscription is in once it has it.
            # Starting the worker as soon as both were asked for let it work the promotion before the server had
            # read a snapshot, now and then.
            async with asyncio.timeout(PATIENCE_SECONDS):
                snapshots.append([text_frame(await ws.recv()) for _ in APPS])
            sockets.append(ws)
        async with in_process_worker(settings):
            rest = await asyncio.gather(*(_frames_until_complete(ws) for ws in sockets))
    planned, executed = (snapshot + frames for snapshot, frames in zip(snapshots, rest, strict=True))
    return planned, executed


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_burst_of_planned_events_is_the_messages_graphql_core_sends(
    gql: GraphQLClient,
    jobs: JobRunner,
    settings: Settings,
    live_server: str,
    protocol: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a pipeline whose staging app, deployed without a release phase, promotes to six apps (one batch job:
    # every target's events in one burst)
    await _staging_deployed(gql, jobs)
    assert event_plan(schema._schema, _operation(PLANNED)) is not None
    assert event_plan(schema._schema, _operation(EXECUTED)) is None
    caplog.set_level(logging.DEBUG, logger="pipegraph.api.json_output")

    # when it is promoted, followed by two sockets (one whose selection is planned, one with the same selection that
    # graphql-core executes) before the promotion runs
    planned, executed = await _burst(gql, settings, live_server, protocol)

    # then the planned socket got the same frames, byte for byte and in the same order
    assert planned == executed
    # and they are the whole promotion: the snapshot, then each target's five changes, in order, then the end
    results = [json.loads(frame) for frame in planned]
    assert results[-1] == {"id": "1", "type": "complete"}
    progress = [result["payload"]["data"]["promotionProgress"] for result in results[:-1]]
    assert len(progress) == len(APPS) * 6
    by_target: dict[str, list[tuple[int, str]]] = {}
    for event in progress:
        by_target.setdefault(event["target"]["id"], []).append((event["sequence"], event["step"]))
    assert len(by_target) == len(APPS)
    for steps in by_target.values():
        assert [sequence for sequence, _ in steps] == [0, 1, 2, 3, 4, 5]
        assert steps[-1][1] == "DONE"
    # and the planned socket's burst was written to it at once (uvicorn serves it, behind the app's middleware)
    written = [record.args for record in caplog.records if record.name == "pipegraph.api.json_output"]
    assert (len(APPS) * 5,) in written, written


async def test_a_burst_under_a_subscription_id_holding_the_data_s_stand_in_is_still_the_messages_graphql_core_sends(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str
) -> None:
    # given the promotion of the test above
    await _staging_deployed(gql, jobs)

    # when it is followed under a subscription id that holds the text standing in for an event's data while a
    # message is written around it (api/json_output.py)
    planned, executed = await _burst(gql, settings, live_server, TRANSPORT_WS, operation_id="\x00pipegraph:data\x00")

    # then the planned socket still got graphql-core's frames, byte for byte: the whole promotion, then its end
    assert planned == executed
    assert len(planned) == len(APPS) * 6 + 1


@pytest.mark.parametrize(
    "message",
    [
        {"id": "1", "type": "next", "payload": {}},  # graphql-transport-ws
        {"type": "data", "id": 'a \\ "b"', "payload": {"extensions": {"n": 1}}},  # graphql-ws, more around it
    ],
)
def test_a_message_is_written_around_its_data_as_dumps_writes_it_whole(message: dict[str, Any]) -> None:
    # given an event's data, with text JSON escapes
    data = {"promotionProgress": {"step": "DONE", "note": 'é\n\u2028"', "sequence": 5}}

    # when the message is written around it
    around = around_data(message, message["payload"])

    # then the data's own JSON in between is the whole message's JSON
    assert around is not None
    before, after = around
    assert before + dumps(data) + after == dumps({**message, "payload": {**message["payload"], "data": data}})
    # and a message holding the stand-in for the data elsewhere is not written around it
    assert around_data({**message, "id": "\x00pipegraph:data\x00"}, message["payload"]) is None


async def test_a_batch_is_split_around_an_event_the_plan_leaves_to_graphql_core(database: str) -> None:
    # given four events of a planned selection, the second with a null where the schema says non-null
    plan = event_plan(schema._schema, _operation(PLANNED))
    assert plan is not None
    first, second, third = _events()
    fourth = _events()[0]
    second.sequence = None  # type: ignore[assignment]

    # when they are taken as one batch
    def built(event: Any) -> Built | None:
        data = plan.data(event)
        return None if data is None else Built(data)

    runs = list(planned_runs((event, built(event)) for event in [first, second, third, fourth]))

    # then the events on either side of it are built in runs, and it is left alone for graphql-core, in order
    assert [type(run) for run in runs] == [PlannedEvents, type(second), PlannedEvents]
    assert runs[1] is second
    assert isinstance(runs[0], PlannedEvents)
    assert isinstance(runs[2], PlannedEvents)
    assert runs[0].data == [plan.data(first)]
    assert runs[2].data == [plan.data(third), plan.data(fourth)]


async def test_the_events_are_built_while_the_visibility_read_waits() -> None:
    # given a read that waits (as on the database) and work that notes whether the read was under way
    started: list[str] = []

    async def read() -> str:
        started.append("read")
        await asyncio.sleep(0.01)
        return "view"

    def work() -> list[str]:
        return list(started)

    # when both are run
    view, seen_by_work = await while_reading(read(), work)

    # then the read had started (sent its statement) before the work ran, and both results come back
    assert (view, seen_by_work) == ("view", ["read"])


async def test_the_visibility_read_is_cancelled_when_building_fails() -> None:
    # given a read that would wait long, and work that fails
    reading: list[asyncio.Task[Any]] = []

    async def read() -> None:
        task = asyncio.current_task()
        assert task is not None
        reading.append(task)
        await asyncio.sleep(60)

    def work() -> None:
        raise ValueError("no")

    # when both are run, then the failure comes through and the read does not go on alone
    with pytest.raises(ValueError, match="no"):
        await while_reading(read(), work)
    await asyncio.sleep(0)
    assert reading[0].cancelled()


RELEASE_LOG = "subscription($id: ID!) { releaseLog(releaseId: $id) { number text } }"
RELEASE_LOG_EXECUTED = "subscription($id: ID!) { releaseLog(releaseId: $id) { ... on ReleaseLogLine { number text } } }"


async def _log_frames(host: str, token: str, document: str, release_id: str) -> list[str]:
    async with connect(host, TRANSPORT_WS) as ws:
        await init(ws, {"Authorization": f"Bearer {token}"})
        assert (await receive(ws))["type"] == "connection_ack"
        await start(ws, TRANSPORT_WS, document, {"id": release_id})
        return await _frames_until_complete(ws)


async def test_a_saved_log_is_checked_once_per_batch_and_sent_as_graphql_core_would(
    gql: GraphQLClient, jobs: JobRunner, live_server: str, sql_statements: StatementCounter
) -> None:
    # given two releases whose release phase printed 3 and 60 lines, both ended (their logs saved)
    await shop_pipeline(gql, production=())
    statements: list[int] = []
    for count in (3, 60):
        release = await deploy_release_script(gql, app="shop-staging", script=f"seq {count}\n")
        await jobs.drain()

        # when a late subscriber follows each log with a planned selection
        sql_statements.statements.clear()
        planned = await _log_frames(live_server, gql.actor.token, RELEASE_LOG, release["id"])
        statements.append(sum('FROM "apps"' in statement for statement in sql_statements.statements))

        # then it gets the frames graphql-core makes for the same selection, every line in order
        assert planned == await _log_frames(live_server, gql.actor.token, RELEASE_LOG_EXECUTED, release["id"])
        lines = [json.loads(frame)["payload"]["data"]["releaseLog"] for frame in planned[:-1]]
        assert lines == [
            {"number": number, "text": text}
            for number, text in enumerate(expected_log(*map(str, range(1, count + 1))), 1)
        ]
    # and the viewer's sight of the log (the app's row) was read once for the batch, not once per line
    assert statements[0] == statements[1], statements


async def test_a_batch_is_sent_message_by_message_where_the_server_is_not_uvicorns_websockets() -> None:
    # given a socket accepted by another ASGI server (here: the ASGI calls themselves, as any server makes them)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    socket = WebSocket({"type": "websocket", "path": "/graphql", "headers": []}, receive, send)
    await socket.accept()
    adapter = TextFrameWebSocket(None, socket, socket)  # type: ignore[arg-type]  # (the view is not used to send)

    # when a batch's messages are sent, one whole and then, as a planned batch is, the data of each around which the
    # same message is written
    await adapter.send_all_json([dumps({"id": "1", "type": "next", "payload": {"data": {"n": 1, "é": "ü"}}})])
    message = {"id": "1", "type": "next", "payload": {"data": None}}
    around = around_data(message, message["payload"])
    assert around is not None
    await adapter.send_all_json([dumps({"n": 2, "é": "ü"})], around=around)

    # then each went as its own text message, in order, as `send_json` sends one
    assert sent[1:] == [
        {"type": "websocket.send", "text": '{"id":"1","type":"next","payload":{"data":{"n":1,"é":"ü"}}}'},
        {"type": "websocket.send", "text": '{"id":"1","type":"next","payload":{"data":{"n":2,"é":"ü"}}}'},
    ]


@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536])
def test_a_burst_frame_is_the_one_the_websocket_library_makes(length: int) -> None:
    from websockets.frames import Frame, Opcode

    from pipegraph.api.json_output import text_frame_header

    # given a message's text at each length the frame's header writes differently (RFC 6455, 5.2)
    payload = b"x" * length
    # then its frame is byte for byte what the websockets library's server side sends for it
    assert text_frame_header(length) + payload == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


async def test_a_burst_s_events_are_made_once_for_every_socket_with_the_same_planned_selection(database: str) -> None:
    # given a burst's sources, delivered alike to three sockets with one planned selection, and a count of what is made
    plan = event_plan(schema._schema, _operation(PLANNED))
    assert plan is not None
    sources = _events()
    made: list[object] = []

    def make(source: Any) -> Any:
        made.append(source)
        return source

    # when each socket prepares its events, the last following only some of the targets (it saw the rest already)
    burst = ("promotion:1:events", "1-0")
    first = made_events(plan, sources, make, burst=burst)
    second = made_events(plan, sources, make, burst=burst)
    third = made_events(plan, sources[1:], make, burst=burst)

    # then each event was made and built once, and every socket has the same events and data
    assert made == sources
    assert second.items == first.items
    assert third.items == first.items[1:]
    # and a socket asking for the very same sources is handed the very batch, to send whole where it sees them all
    assert second is first
    assert third is not first
    assert [run.events for run in first.events()] == [[built for _, _, built in first.items]]
    assert all(a is b for a, b in zip(first.events(), second.events(), strict=True))
    assert [run.events for run in third.events(lambda source: source is not sources[-1])] == [
        [built for _, _, built in third.items[:-1]]
    ]
    assert [built.data if built else None for _, _, built in first.items] == [plan.data(event) for event in sources]
    # and each event's JSON, made for the first socket to send it, is the very text the others send
    jsons = [[built.json() for _, _, built in prepared.items if built] for prepared in (first, second, third)]
    assert all(a is b for a, b in zip(jsons[0], jsons[1], strict=True))
    assert all(a is b for a, b in zip(jsons[0][1:], jsons[2], strict=True))
    # and another burst, or a socket's own read (no burst), makes its own
    made_events(plan, sources, make, burst=("promotion:1:events", "2-0"))
    made_events(plan, sources, make)
    assert made == sources * 3


async def test_the_end_of_a_promotion_is_read_once_for_every_socket_following_it(
    gql: GraphQLClient, jobs: JobRunner, settings: Settings, live_server: str, sql_statements: StatementCounter
) -> None:
    # given three sockets following one promotion (one burst, then its end), each in with its snapshot
    await _staging_deployed(gql, jobs)
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    async with AsyncExitStack() as stack:
        sockets = []
        for _ in range(3):
            ws = await stack.enter_async_context(connect(live_server, TRANSPORT_WS))
            await init(ws, {"Authorization": f"Bearer {gql.actor.token}"})
            assert (await receive(ws))["type"] == "connection_ack"
            await start(ws, TRANSPORT_WS, PLANNED, {"id": promotion_id})
            async with asyncio.timeout(PATIENCE_SECONDS):
                [text_frame(await ws.recv()) for _ in APPS]
            sockets.append(ws)

        # when the promotion runs to its end
        sql_statements.statements.clear()
        async with in_process_worker(settings):
            frames = await asyncio.gather(*(_frames_until_complete(ws) for ws in sockets))

    # then each socket got the burst and the end
    assert all(len(got) == len(APPS) * 5 + 1 for got in frames), [len(got) for got in frames]
    # and the promotion's targets were read once for the three of them once it ended, not once each
    snapshots = [
        statement
        for statement in sql_statements.statements
        if statement.startswith("SELECT")
        and 'FROM "promotion_targets"' in statement
        and 'ORDER BY "id" ASC' in statement
    ]
    assert len(snapshots) == 1, snapshots


ADD_COLLABORATOR = """
mutation($input: AddAppCollaboratorInput!) { addAppCollaborator(input: $input) { userErrors { code } } }"""


@pytest.mark.parametrize("bob_first", [True, False])
async def test_a_shared_burst_goes_whole_to_whoever_sees_every_target_and_in_part_to_whoever_sees_some(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    jobs: JobRunner,
    settings: Settings,
    live_server: str,
    bob_first: bool,
) -> None:
    # given bob, who sees the pipeline only as a collaborator on one of its six production apps
    await _staging_deployed(gql, jobs)
    bob = await actor(client, "bob@example.com")
    added = await gql(ADD_COLLABORATOR, {"input": {"app": APPS[0], "user": "bob@example.com", "permissions": ["VIEW"]}})
    assert added["addAppCollaborator"]["userErrors"] == []
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]

    # when he and the owner follow the promotion with the same planned selection (one burst, made once for both),
    # each in with a snapshot of what they see
    viewers = [(bob, 1), (gql, len(APPS))]
    async with AsyncExitStack() as stack:
        sockets = []
        for viewer, seen in viewers if bob_first else viewers[::-1]:
            ws = await stack.enter_async_context(connect(live_server, TRANSPORT_WS))
            await init(ws, {"Authorization": f"Bearer {viewer.actor.token}"})
            assert (await receive(ws))["type"] == "connection_ack"
            await start(ws, TRANSPORT_WS, PLANNED, {"id": promotion_id})
            async with asyncio.timeout(PATIENCE_SECONDS):
                [text_frame(await ws.recv()) for _ in range(seen)]
            sockets.append((viewer, ws))
        async with in_process_worker(settings):
            frames = await asyncio.gather(*(_frames_until_complete(ws) for _, ws in sockets))

    # then the owner got every target's five changes, and bob only those of his app's target, the same messages
    got_by = {
        viewer: [json.loads(frame) for frame in got[:-1]] for (viewer, _), got in zip(sockets, frames, strict=True)
    }
    targets_of = {
        viewer: {message["payload"]["data"]["promotionProgress"]["target"]["id"] for message in messages}
        for viewer, messages in got_by.items()
    }
    assert len(targets_of[gql]) == len(APPS)
    assert len(got_by[gql]) == len(APPS) * 5
    assert len(targets_of[bob]) == 1
    assert targets_of[bob] < targets_of[gql]
    (bob_target,) = targets_of[bob]
    assert got_by[bob] == [
        message
        for message in got_by[gql]
        if message["payload"]["data"]["promotionProgress"]["target"]["id"] == bob_target
    ]
