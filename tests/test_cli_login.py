"""`pipegraph login` through the browser: the CLI starts a login, a signed-in dashboard user confirms or refuses it,
and only the CLI that started it collects the new token, once, before it expires."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from pipegraph.accounts.models import ApiToken, CliLogin, User
from pipegraph.accounts.service import hash_token, now
from pipegraph.accounts.sessions import create_login_link_token, exchange_login_token
from pipegraph.api.app import create_app
from pipegraph.settings import Settings
from tests.conftest import serve_app
from tests.support.client_scene import PIPEGRAPH
from tests.support.clients import make_actor
from tests.support.servers import until
from tests.support.terminal import Terminal

VIEWER = "query { viewer { email } }"
HOST = socket.gethostname()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No configured public URL: the login URL names the server as the CLI reached it (the live server's port)."""
    return replace(settings, public_url="")


async def session_cookie(user: User) -> str:
    opened = await exchange_login_token(await create_login_link_token(user))
    assert opened is not None
    return opened[1]


class Dashboard:
    """The requests the dashboard's page sends: JSON, the session cookie, from a page of this server."""

    def __init__(self, client: httpx.AsyncClient, cookie: str) -> None:
        self.client, self.cookie = client, cookie

    async def __call__(self, action: str, code: str, **headers: str) -> httpx.Response:
        return await self.client.post(
            f"/cli-logins/{action}",
            json={"code": code},
            headers={"Cookie": f"pipegraph_session={self.cookie}", "Origin": "http://testserver", **headers},
        )


async def start(client: httpx.AsyncClient, host: str = "build-box") -> tuple[str, str]:
    """A login as the CLI starts it: its code (from the URL) and its secret."""
    started = await client.post("/cli-logins", json={"host": host})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["url"].startswith("http://testserver/cli-login/pgc_")
    return body["url"].rsplit("/", 1)[1], body["secret"]


async def collect(client: httpx.AsyncClient, secret: str) -> tuple[int, dict[str, Any]]:
    answer = await client.post("/cli-logins/token", json={"secret": secret})
    return answer.status_code, answer.json()


async def test_a_confirmed_login_hands_its_token_once_to_the_cli_holding_the_secret(client: httpx.AsyncClient) -> None:
    # given ada signed in to the dashboard, and a login started by a CLI on build-box
    ada = await make_actor("ada@example.com")
    page = Dashboard(client, await session_cookie(ada.user))
    code, secret = await start(client)

    # then neither secret is stored as given, and the CLI is told to wait
    row = await CliLogin.get(code_hash=hash_token(code))
    assert row.secret_hash == hash_token(secret)
    assert code not in str(vars(row))
    assert secret not in str(vars(row))
    assert await collect(client, secret) == (202, {"status": "pending"})

    # when the page shows it, then it names the host and ada
    shown = await page("show", code)
    assert shown.status_code == 200
    assert {key: shown.json()[key] for key in ("host", "email")} == {"host": "build-box", "email": "ada@example.com"}

    # and an API token, another site's page, or no session cannot answer it
    with_token = await client.post("/cli-logins/confirm", json={"code": code}, headers=ada.headers)
    elsewhere = await page("confirm", code, Origin="http://evil.example")
    signed_out = await client.post("/cli-logins/confirm", json={"code": code})
    as_form = await client.post(
        "/cli-logins/confirm", content=f"code={code}", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert [r.status_code for r in (with_token, elsewhere, signed_out, as_form)] == [403, 403, 401, 415]
    assert await collect(client, secret) == (202, {"status": "pending"})

    # when ada confirms it, then a second confirmation is refused
    assert (await page("confirm", code)).status_code == 200
    again = await page("confirm", code)
    assert again.status_code == 410
    assert "already answered" in again.json()["error"]["message"]

    # and the CLI collects a new token of ada's, described after its host, once
    status, body = await collect(client, secret)
    assert (status, body["status"], body["email"]) == (200, "confirmed", "ada@example.com")
    token = await ApiToken.get(token_hash=hash_token(body["token"]))
    assert (token.user_id, token.description) == (ada.user.id, "CLI login on build-box")
    viewer = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {body['token']}"})
    assert viewer.json()["data"] == {"viewer": {"email": "ada@example.com"}}
    assert await collect(client, secret) == (410, {"status": "used"})
    assert await collect(client, "a-guess") == (404, {"status": "unknown"})
    assert await ApiToken.filter(user_id=ada.user.id).count() == 2  # the actor's own, and this one


async def test_a_refused_or_expired_login_gives_no_token(client: httpx.AsyncClient) -> None:
    ada = await make_actor("ada@example.com")
    page = Dashboard(client, await session_cookie(ada.user))

    # when ada refuses one login, then its CLI is told so, and it cannot be confirmed afterwards
    refused_code, refused_secret = await start(client)
    assert (await page("refuse", refused_code)).status_code == 200
    assert await collect(client, refused_secret) == (403, {"status": "refused"})
    assert (await page("confirm", refused_code)).status_code == 410

    # when another expires unanswered, then the page, a confirmation and the CLI are all told it expired
    late_code, late_secret = await start(client)
    await CliLogin.filter(code_hash=hash_token(late_code)).update(expires_at=now() - timedelta(seconds=1))
    shown, confirmed = await page("show", late_code), await page("confirm", late_code)
    assert (shown.status_code, confirmed.status_code) == (410, 410)
    assert "expired" in shown.json()["error"]["message"]
    assert await collect(client, late_secret) == (410, {"status": "expired"})

    # and no token was made for either
    assert await ApiToken.filter(user_id=ada.user.id).count() == 1


async def test_starts_are_limited_per_client_address_and_a_refused_one_stores_nothing(settings: Settings) -> None:
    limited = replace(settings, cli_login_rate="3/minute")
    app = create_app(limited, manage_db=False)
    async with app.router.lifespan_context(app):
        one = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)), base_url="http://testserver"
        )
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("2001:db8:1:2::9", 40000)), base_url="http://testserver"
        )
        same_block = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("2001:db8:1:2:ffff::1", 40000)),
            base_url="http://testserver",
        )
        async with one, other, same_block:
            # given an address that started as many logins as a minute allows
            for _ in range(3):
                await start(one)
            assert await CliLogin.all().count() == 3

            # when it starts one more, then it is told to wait, why and how long, and nothing is stored
            refused = await one.post("/cli-logins", json={"host": "build-box"})
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "TOO_MANY_REQUESTS"
            assert "too many CLI logins started from your address" in refused.json()["error"]["message"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert refused.headers["Cache-Control"] == "no-store"
            assert await CliLogin.all().count() == 3

            # and another address still may; an IPv6 address counts as its /64
            for _ in range(3):
                await start(other)
            assert (await same_block.post("/cli-logins", json={"host": "x"})).status_code == 429
            assert await CliLogin.all().count() == 6


async def test_starts_are_refused_while_as_many_logins_as_allowed_are_pending(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    capped = replace(settings, cli_login_max_pending=2)
    app = create_app(capped, manage_db=False)
    ada = await make_actor("ada@example.com")
    page = Dashboard(client, await session_cookie(ada.user))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        # given two logins pending, from anywhere
        first_code, _ = await start(http)
        await start(http)

        # when a third is started, then it is refused until the first of them expires, and nothing is stored
        refused = await http.post("/cli-logins", json={"host": "build-box"})
        assert refused.status_code == 429
        assert "too many CLI logins are waiting to be confirmed" in refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 600
        assert await CliLogin.all().count() == 2

        # when one is answered, then a new one may start
        assert (await page("refuse", first_code)).status_code == 200
        await start(http)
        assert await CliLogin.all().count() == 3


async def test_pipegraph_login_says_why_the_api_refused_to_start_it(settings: Settings, tmp_path: Path) -> None:
    # given a server whose one pending login is all it takes at once
    await CliLogin.create(code_hash="c", secret_hash="s", host="elsewhere", expires_at=now() + timedelta(minutes=5))
    async with serve_app(replace(settings, cli_login_max_pending=1)) as host:
        terminal = Terminal(
            [PIPEGRAPH, "login", "--api", f"http://{host}"], env=cli_env(tmp_path / "home", tmp_path / "opened")
        )
        try:
            # when a person runs `pipegraph login` and presses a key
            await terminal.shows(r"or q to exit: $")
            terminal.press("\r")

            # then it says the API refused, and why, and exits 1 without opening a browser
            assert await terminal.exit_code() == 1, terminal.screen
        finally:
            terminal.close()
    assert "the API refused to start a login: too many CLI logins are waiting to be confirmed" in terminal.screen
    assert not (tmp_path / "opened").exists()
    assert await CliLogin.all().count() == 1


# The real CLI in a terminal, the real dashboard page in Chromium ----------------------------------------------------


@pytest.fixture
async def signed_in_page(browser: Any, live_server: str) -> AsyncIterator[tuple[Any, User]]:
    """A browser page of the live server, signed in as ada."""
    ada = await make_actor("ada@example.com")
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"http://{live_server}/login?token={await create_login_link_token(ada.user)}")
    try:
        yield page, ada.user
    finally:
        await context.close()


def cli_env(home: Path, opened: Path) -> dict[str, str]:
    """The CLI's environment: its own HOME, no login, and a `browser` that notes the URL it is asked to open."""
    script = home / "browser.sh"
    home.mkdir(exist_ok=True)
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" > "{opened}"\n')
    script.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPEGRAPH_")}
    return env | {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "BROWSER": str(script)}


async def test_pipegraph_login_opens_the_browser_and_stores_the_token_its_user_confirms(
    signed_in_page: tuple[Any, User], live_server: str, tmp_path: Path
) -> None:
    page, ada = signed_in_page
    api = f"http://{live_server}"
    opened = tmp_path / "opened"
    terminal = Terminal([PIPEGRAPH, "login", "--api", api], env=cli_env(tmp_path / "home", opened))
    try:
        # when a person runs `pipegraph login` and presses a key
        await terminal.shows(r"Press any key to open up the browser to login or q to exit: $")
        terminal.press("\r")

        # then it opens the browser on the login's page, and waits
        url = (await terminal.shows(r"Opening browser to (\S+)\n"))[1]
        await until(lambda: _noted(opened), "the browser was opened")
        assert opened.read_text().strip() == url
        await terminal.shows(r"Logging in\.\.\. $")

        # when ada, signed in, reads the request on that page and confirms it
        await page.goto(url)
        await expect(page.get_by_role("heading", name="Log in the pipegraph CLI?")).to_be_visible()
        await expect(page.get_by_role("main")).to_contain_text(f"on {HOST} asked")
        await expect(page.get_by_role("main")).to_contain_text("as ada@example.com")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("heading", name="The CLI is logged in")).to_be_visible()

        # then the CLI says so, and stores a new token of hers where `login` stores one, for her only
        assert await terminal.exit_code() == 0, terminal.screen
        assert "Logging in... done\n" in terminal.screen
        assert f"Logged in as ada@example.com at {api}\n" in terminal.screen
    finally:
        terminal.close()
    path = tmp_path / "home" / "config" / "pipegraph" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["api_url"] == api
    token = await ApiToken.get(token_hash=hash_token(stored["token"]))
    assert (token.user_id, token.description) == (ada.id, f"CLI login on {HOST}")

    # and the link is spent: opened again, it cannot be answered
    await page.goto(url)
    await expect(page.get_by_role("alert")).to_contain_text("already answered")


async def test_pipegraph_login_refused_in_the_browser_or_quit_stores_nothing(
    signed_in_page: tuple[Any, User], live_server: str, tmp_path: Path
) -> None:
    page, _ = signed_in_page
    api = f"http://{live_server}"
    env = cli_env(tmp_path / "home", tmp_path / "opened")

    # when a person presses q at the prompt, then nothing is asked of the API
    quitting = Terminal([PIPEGRAPH, "login", "--api", api], env=env)
    try:
        await quitting.shows(r"or q to exit: $")
        quitting.press("q")
        assert await quitting.exit_code() == 1
        assert "Error: login cancelled: nothing stored" in quitting.screen
    finally:
        quitting.close()
    assert await CliLogin.all().count() == 0

    # when the login is refused on its page, then the CLI says so and exits 1
    refused = Terminal([PIPEGRAPH, "login", "--api", api], env=env)
    try:
        await refused.shows(r"or q to exit: $")
        refused.press(" ")
        url = (await refused.shows(r"Opening browser to (\S+)\n"))[1]
        await page.goto(url)
        await page.get_by_role("button", name="Refuse").click()
        await expect(page.get_by_role("heading", name="Login refused")).to_be_visible()
        assert await refused.exit_code() == 1
        assert "Logging in... failed\nError: the login was refused in the browser: nothing stored" in refused.screen
    finally:
        refused.close()

    # and no credentials were written, nor any token made
    assert not (tmp_path / "home" / "config" / "pipegraph").exists()
    assert await ApiToken.filter(description__startswith="CLI login").count() == 0


async def _noted(path: Path) -> bool:
    return await asyncio.to_thread(lambda: path.exists() and bool(path.read_text().strip()))


async def test_signing_in_brings_a_signed_out_visitor_back_to_the_login_they_opened(
    browser: Any, live_server: str
) -> None:
    ada = await make_actor("ada@example.com")
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        started = await http.post("/cli-logins", json={"host": "build-box"})
    url = started.json()["url"]
    context = await browser.new_context()
    page = await context.new_page()
    try:
        # given ada, signed out, opening a `pipegraph login` link: she is asked to sign in
        await page.goto(url)
        await expect(page.get_by_role("heading", name="Sign in to pipegraph")).to_be_visible()
        await expect(page.get_by_role("main")).to_contain_text("brings you back to its request")

        # when she signs in with the dashboard's link, then she is back on the login's page, which asks her
        await page.goto(f"http://{live_server}/login?token={await create_login_link_token(ada.user)}")
        await expect(page.get_by_role("heading", name="Log in the pipegraph CLI?")).to_be_visible()
        assert page.url == url

        # and only once: signing in again lands on the dashboard's first page
        await page.goto(f"http://{live_server}/login?token={await create_login_link_token(ada.user)}")
        await expect(page.get_by_role("heading", name="Pipelines")).to_be_visible()
        assert page.url == f"http://{live_server}/"
    finally:
        await context.close()


@pytest.mark.parametrize("path", ["//elsewhere.example/x", "/\\elsewhere.example/x", "https://elsewhere.example/"])
async def test_a_return_path_of_another_origin_is_never_followed(browser: Any, live_server: str, path: str) -> None:
    ada = await make_actor("ada@example.com")
    context = await browser.new_context()
    page = await context.new_page()
    try:
        # given a return path of another origin stored in the browser (by anything but the dashboard)
        await page.goto(f"http://{live_server}/")
        await expect(page.get_by_role("heading", name="Sign in to pipegraph")).to_be_visible()
        value = json.dumps({"path": path, "until": 2**52})
        await page.evaluate("value => localStorage.setItem('pipegraph.returnTo', value)", value)

        # when ada signs in, then she stays on this server's first page
        await page.goto(f"http://{live_server}/login?token={await create_login_link_token(ada.user)}")
        await expect(page.get_by_role("heading", name="Pipelines")).to_be_visible()
        assert page.url == f"http://{live_server}/"
    finally:
        await context.close()
