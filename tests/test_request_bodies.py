"""Bodies that are not a GraphQL request are 400s that say why; oversized ones are 413s before they are read whole."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from pipegraph.api.app import create_app
from pipegraph.settings import Settings
from tests import test_cli
from tests.support.clients import Actor, GraphQLClient
from tests.support.ws_client import TRANSPORT_WS

# A real `pipegraph serve` on a migrated database (the fixtures of the CLI's tests).
cli_env = test_cli.cli_env
served = test_cli.served

VIEWER = json.dumps({"query": "{ viewer { email } }"}).encode()
LIMIT = 64 * 1024


async def post(client: httpx.AsyncClient, actor: Actor, content: bytes) -> httpx.Response:
    return await client.post("/graphql", content=content, headers={**actor.headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'"x"', "a string"),
        (b"null", "null"),
        (b"3", "a number"),
        (b"true", "a boolean"),
        (b"[]", "a list"),
        (b'[{"query": "{ viewer { email } }"}]', "a list"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    client: httpx.AsyncClient, viewer: Actor, body: bytes, what: str
) -> None:
    # when the body is valid JSON but not an object (these were 500s)
    response = await post(client, viewer, body)

    # then it is a 400 saying what a request body must be
    assert response.status_code == 400, response.text
    assert response.text == (
        f'A GraphQL request body must be a JSON object such as {{"query": "{{ viewer {{ email }} }}"}}, not {what}'
    )


@pytest.mark.parametrize(
    "body",
    [b'{"query": "{ viewer { email } }", "x": "\xff"}', b"\xfe\xff{}", b'{"query": "\xc3"}'],
    ids=["latin-1 byte", "utf-16 mark", "cut sequence"],
)
async def test_a_body_that_is_not_utf8_is_a_400(client: httpx.AsyncClient, viewer: Actor, body: bytes) -> None:
    # when the body is not UTF-8
    response = await post(client, viewer, body)

    # then it is a 400 saying so
    assert response.status_code == 400, response.text
    assert response.text.startswith("The request body is not valid UTF-8")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": 3}', "`query` must be a string or null, not a number"),
        (b'{"query": "{ viewer { email } }", "variables": []}', "`variables` must be an object or null, not a list"),
        (b'{"query": "{ viewer { email } }", "operationName": 1}', "`operationName` must be a string or null"),
        (b'{"query": "{ viewer { email } }", "extensions": "x"}', "`extensions` must be an object or null"),
        (b"[" * 200_000, "The request body is not valid JSON: it nests too deep"),
        (b'{"query": ', "The request body is not valid JSON: Expecting value"),
    ],
    ids=["query", "variables", "operationName", "extensions", "nested", "truncated"],
)
async def test_malformed_request_fields_are_400s(
    client: httpx.AsyncClient, viewer: Actor, body: bytes, message: str
) -> None:
    # when an object arrives whose fields have the wrong types, or JSON that cannot be decoded
    response = await post(client, viewer, body)

    # then it is a 400 naming the problem
    assert response.status_code == 400, response.text
    assert response.text.startswith(message), response.text


@pytest.fixture
async def small_bodies(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(replace(settings, max_body_bytes=LIMIT), manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


def padded_query(size: int) -> bytes:
    """A valid request `size` bytes long: the query is padded with a comment."""
    head = b'{"query": "{ viewer { email } } #'
    return head + b"x" * (size - len(head) - 2) + b'"}'


async def test_a_body_over_the_limit_is_a_413_by_its_length(small_bodies: httpx.AsyncClient, viewer: Actor) -> None:
    # when a request declares a body one byte over the limit
    response = await post(small_bodies, viewer, padded_query(LIMIT + 1))

    # then it is a 413 naming the limit
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert error == {
        "message": f"The request body is larger than the limit of {LIMIT} bytes",
        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
    }


async def test_a_body_at_the_limit_runs(small_bodies: httpx.AsyncClient, viewer: Actor) -> None:
    # when the body is exactly as large as allowed
    response = await post(small_bodies, viewer, padded_query(LIMIT))

    # then it runs
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


async def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(
    small_bodies: httpx.AsyncClient, viewer: Actor
) -> None:
    # given a chunked body (no Content-Length) four times the limit, whose chunks are counted as they are read
    body = padded_query(4 * LIMIT)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for start in range(0, len(body), 4096):
            sent += 1
            yield body[start : start + 4096]

    # when it is posted
    response = await small_bodies.post(
        "/graphql", content=chunks(), headers={**viewer.headers, "Content-Type": "application/json"}
    )

    # then it is a 413, answered once the limit was passed, not after reading all of it
    assert response.status_code == 413
    assert sent <= LIMIT // 4096 + 2 < len(body) // 4096


async def test_every_route_has_the_limit(small_bodies: httpx.AsyncClient) -> None:
    # when a large body goes to a route that takes none
    response = await small_bodies.post("/healthz", content=b"x" * (LIMIT + 1))

    # then it is refused by its size, before anything else
    assert response.status_code == 413


async def test_the_live_server_refuses_a_declared_50_mib_body_without_waiting_for_it(
    live_server: str, viewer: Actor
) -> None:
    # when a client declares a 50 MiB body and sends only its first bytes
    host, port = live_server.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: {viewer.headers['Authorization']}\r\n".encode()
            + f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode()
            + b'{"query": "'
        )
        await writer.drain()

        # then the server answers 413 at once, without reading (or waiting for) the rest
        status = await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()
    assert status.startswith(b"HTTP/1.1 413"), status


async def test_ordinary_requests_still_run(gql: GraphQLClient, client: httpx.AsyncClient, viewer: Actor) -> None:
    # when a plain JSON request arrives
    response = await post(client, viewer, VIEWER)

    # then it runs as before
    assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


async def test_pipegraph_serve_closes_a_websocket_whose_message_passes_the_limit(
    served: str, cli_env: dict[str, str]
) -> None:
    # given `pipegraph serve` with the default limit (1 MiB), and an open GraphQL WebSocket, on a plain socket: the
    # server closes it while the client is still writing, and a client library that meets the reset while writing
    # drops the close frame that came before it. Here reading and writing are apart and the reset is tolerated.
    loop = asyncio.get_running_loop()
    host, port = served.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.setblocking(False)
    received = bytearray()

    async def fill() -> None:
        chunk = await loop.sock_recv(sock, 65536)
        assert chunk, f"the server ended the connection without a close frame after {bytes(received)!r}"
        received.extend(chunk)

    async def read(count: int) -> bytes:
        while len(received) < count:
            await fill()
        taken = bytes(received[:count])
        del received[:count]
        return taken

    async def send_tolerating_the_reset(data: bytes) -> None:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            await loop.sock_sendall(sock, data)

    async def exchange() -> tuple[int, int]:
        await loop.sock_sendall(
            sock,
            b"GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + f"Sec-WebSocket-Protocol: {TRANSPORT_WS}\r\n\r\n".encode(),
        )
        while b"\r\n\r\n" not in received:
            await fill()
        head, _, rest = bytes(received).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        received[:] = rest
        # when a message of 2 MiB is sent: one text frame, masked with a zero key (as valid as any)
        message = json.dumps({"type": "connection_init", "payload": {"x": "y" * 2 * 1024 * 1024}}).encode()
        header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", len(message)) + bytes(4)
        writing = asyncio.create_task(send_tolerating_the_reset(header + message))
        try:
            # then the first frame back is a close (not a connection_ack: the message was not parsed)
            opcode, length = await read(2)
            code = struct.unpack("!H", await read(2))[0] if length >= 2 else 0
        finally:
            writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writing
        return opcode, code

    try:
        opcode, code = await asyncio.wait_for(exchange(), timeout=60)  # only a guard against a hung test
    finally:
        sock.close()
    assert opcode == 0x88, f"the server answered with a frame of opcode {opcode & 0x0F}, not a close"
    # "message too big"
    assert code == 1009
