"""Signing in to the dashboard: a one-time link sets a session cookie that works only where a forged request cannot.

The cookie stands in for a token on the JSON-only POST (a cross-site form cannot send one) and on a WebSocket opened
from our own origin (a socket opened by another site carries its Origin); never on a GET, and never after sign-out.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from pipegraph.accounts.service import get_or_create_user
from pipegraph.accounts.sessions import create_login_link_token
from pipegraph.api.auth import SESSION_COOKIE
from pipegraph.settings import Settings
from tests.support.clients import Actor
from tests.support.ws_client import TRANSPORT_WS

VIEWER = "query { viewer { email } }"


async def sign_in(client: httpx.AsyncClient, email: str = "ada@example.com") -> str:
    """Open a fresh sign-in link the way a browser does; the session secret the cookie holds."""
    link = await create_login_link_token(await get_or_create_user(email))
    response = await client.get("/login", params={"token": link})
    assert response.status_code == 303, response.text
    client.cookies.clear()  # each request below says which cookie it sends
    return response.cookies[SESSION_COOKIE]


def cookie(session: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session}"}


async def post_as_page(client: httpx.AsyncClient, session: str, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": VIEWER}, headers={**cookie(session), **headers})


async def test_the_link_sets_a_strict_httponly_expiring_cookie_and_leaves_the_token_behind(
    client: httpx.AsyncClient,
) -> None:
    # given a one-time link
    link = await create_login_link_token(await get_or_create_user("ada@example.com"))

    # when a browser opens it
    response = await client.get("/login", params={"token": link})

    # then it is sent to the dashboard without the token in the address, with a cookie scripts cannot read
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=pgs_")
    for attribute in ("httponly", "samesite=strict", "max-age=604800", "path=/"):
        assert attribute in cookie
    assert link not in response.headers["set-cookie"]

    # and the link is spent: opening it again signs nobody in
    again = await client.get("/login", params={"token": link})
    assert again.status_code == 400
    assert "already used" in again.text
    assert "set-cookie" not in again.headers


@pytest.mark.parametrize("token", ["", "pgl_unknown", "pgt_not-a-login-link"])
async def test_a_bad_link_is_refused_with_a_clear_page(client: httpx.AsyncClient, viewer: Actor, token: str) -> None:
    # when a link with no, an unknown or an API token is opened (an API token is not a sign-in link)
    response = await client.get("/login", params={"token": viewer.token if token.startswith("pgt_") else token})

    # then nobody is signed in, and the page says why
    assert response.status_code == 400
    assert "does not work" in response.text
    assert "set-cookie" not in response.headers


async def test_the_cookie_authenticates_a_json_post_from_our_own_pages(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)

    # when the dashboard posts a query with its cookie (with or without an Origin of this host)
    plain = await post_as_page(client, session)
    same_origin = await post_as_page(client, session, origin="http://testserver")

    # then it is the signed-in user
    for response in (plain, same_origin):
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


async def test_the_cookie_does_nothing_for_another_site_a_form_or_a_get(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)
    cookies = cookie(session)

    # when another site's page posts JSON, a form posts the query, and a link puts it in a GET, all with the cookie
    cross_site = await post_as_page(client, session, origin="https://evil.example")
    form = await client.post("/graphql", data={"query": VIEWER}, headers=cookies)
    get = await client.get("/graphql", params={"query": VIEWER}, headers={**cookies, "Accept": "application/json"})

    # then none of them runs anything
    assert cross_site.status_code == 401
    assert "Origin" in cross_site.json()["errors"][0]["message"]
    assert form.status_code == 415
    assert get.status_code in {400, 405}
    for response in (cross_site, form, get):
        assert "ada@example.com" not in response.text


async def test_signing_out_ends_the_session_on_the_server(client: httpx.AsyncClient) -> None:
    session = await sign_in(client)

    # when a form tries to sign the user out, then the page does
    forged = await client.post("/logout", data={"x": "1"}, headers=cookie(session))
    still = await post_as_page(client, session)
    response = await client.post("/logout", json={}, headers=cookie(session))

    # then only the JSON request ended it, the cookie is dropped, and a copy of the old cookie no longer works
    assert forged.status_code == 415
    assert still.status_code == 200
    assert response.status_code == 204
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    after = await post_as_page(client, session)
    assert after.status_code == 401
    assert "sign in again" in after.json()["errors"][0]["message"]


async def test_a_bearer_token_still_wins_over_a_cookie(client: httpx.AsyncClient, viewer: Actor) -> None:
    # given grace signed in on the browser, and ada's program token
    session = await sign_in(client, "grace@example.com")

    # when a request carries both
    response = await client.post("/graphql", json={"query": VIEWER}, headers={**cookie(session), **viewer.headers})

    # then the token says who it is
    assert response.json() == {"data": {"viewer": {"email": "ada@example.com"}}}


async def _socket_viewer(host: str, session: str, origin: str) -> str:
    async with websockets.connect(
        f"ws://{host}/graphql",
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"},
        origin=origin,  # type: ignore[arg-type]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        async with asyncio.timeout(15):
            reply = json.loads(await ws.recv())
            if reply["type"] != "connection_ack":
                return f"refused: {reply}"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}}))
            result = json.loads(await ws.recv())
        return str(result["payload"]["data"]["viewer"]["email"])


async def test_a_websocket_takes_the_cookie_only_from_our_own_origin(settings: Settings, live_server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        session = await sign_in(http)

    # when our page opens a socket with the cookie, and another site's page does the same
    ours = await _socket_viewer(live_server, session, origin=f"http://{live_server}")
    with pytest.raises((InvalidStatus, websockets.ConnectionClosed)) as hijack:
        await _socket_viewer(live_server, session, origin="https://evil.example")

    # then ours is the user, and the other is closed before anything runs (cross-site WebSocket hijacking)
    assert ours == "ada@example.com"
    assert hijack.value is not None


async def test_signing_out_closes_the_sessions_open_websocket(settings: Settings, live_server: str) -> None:
    # given a dashboard socket opened with the session cookie
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        session = await sign_in(http)
        async with websockets.connect(
            f"ws://{live_server}/graphql",
            subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
            additional_headers=cookie(session),
            origin=f"http://{live_server}",  # type: ignore[arg-type]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            async with asyncio.timeout(15):
                assert json.loads(await ws.recv())["type"] == "connection_ack"

            # when the user signs out elsewhere, and the socket asks for something
            assert (await http.post("/logout", json={}, headers=cookie(session))).status_code == 204
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}}))

            # then the socket is closed as for a revoked token, with nothing answered
            async with asyncio.timeout(15):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
