"""`pipegraph login` through the browser, as `heroku login` does: the API starts a login, a browser confirms it in the
dashboard, and this process collects the new token with the secret only it holds (api/cli_login.py)."""

from __future__ import annotations

import os
import socket
import sys
import time
import webbrowser
from dataclasses import dataclass
from typing import Any

import click
import httpx

from pipegraph.client.api import TIMEOUT_SECONDS, ApiError

START_PATH = "/cli-logins"
TOKEN_PATH = "/cli-logins/token"
# Polls that may fail in a row (an API restart, a network blip) before giving up.
MAX_FAILED_POLLS = 10
# The API expires a login after minutes; this only bounds a server that never answers otherwise.
MAX_WAIT_SECONDS = 15 * 60

REFUSALS = {
    "refused": "the login was refused in the browser: nothing stored",
    "expired": "the login request expired before it was confirmed: run `pipegraph login` again",
    "used": "the login request was already used: run `pipegraph login` again",
    "unknown": "the API does not know this login request any more: run `pipegraph login` again",
}


@dataclass(frozen=True)
class BrowserLogin:
    token: str
    email: str


def wait_for_key() -> None:
    """Heroku's prompt: any key goes on, q stops before anything is asked of the API."""
    key = _key_after("pipegraph: Press any key to open up the browser to login or q to exit: ")
    click.echo()
    if key.lower() == "q":
        raise click.ClickException("login cancelled: nothing stored")  # exit status 1


def _key_after(prompt: str) -> str:
    """The first key pressed once `prompt` shows. The terminal takes single keys before the prompt is printed:
    `click.getchar` switches it only afterwards, discarding (TCSAFLUSH) a key pressed as soon as the prompt showed."""
    try:
        import termios
        import tty
    except ImportError:  # not Unix: click's own reading of a key
        return _getchar_after(prompt)
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # not a terminal
        return _getchar_after(prompt)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # one key at a time; Ctrl-C still interrupts
        click.echo(prompt, nl=False)
        return os.read(fd, 1).decode(errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _getchar_after(prompt: str) -> str:
    click.echo(prompt, nl=False)
    return click.getchar()


def login(base_url: str, *, browser: str | None = None) -> BrowserLogin:
    """Start a login, open its URL, and wait until the browser confirms or refuses it (or it expires)."""
    with httpx.Client(timeout=TIMEOUT_SECONDS, headers={"User-Agent": "pipegraph-cli"}) as http:
        started = _post(http, base_url, START_PATH, {"host": socket.gethostname()}, expect={201})
        url, secret = str(started["url"]), str(started["secret"])
        interval = float(started.get("interval") or 1)
        click.echo(f"Opening browser to {url}")
        if not _open(url, browser):
            click.echo("Cannot open a browser from here: open the URL above in one, signed in", err=True)
        click.echo("Logging in... ", nl=False)
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        failures = 0
        while time.monotonic() < deadline:
            time.sleep(interval)
            try:
                answer = _post(http, base_url, TOKEN_PATH, {"secret": secret}, expect={200, 202, 403, 404, 410})
            except ApiError:
                failures += 1
                if failures >= MAX_FAILED_POLLS:
                    click.echo("failed")
                    raise
                continue
            failures = 0
            status = answer.get("status")
            if status == "confirmed":
                click.echo("done")
                return BrowserLogin(token=str(answer["token"]), email=str(answer["email"]))
            if status != "pending":
                click.echo("failed")
                raise ApiError(REFUSALS.get(str(status), f"the API answered {status!r}"))
    click.echo("failed")
    raise ApiError("no answer from the browser in time: run `pipegraph login` again")


def _open(url: str, browser: str | None) -> bool:
    try:
        return webbrowser.get(browser).open(url) if browser else webbrowser.open(url)
    except webbrowser.Error:
        return False


def _post(http: httpx.Client, base_url: str, path: str, body: dict[str, Any], *, expect: set[int]) -> dict[str, Any]:
    try:
        response = http.post(f"{base_url}{path}", json=body)
    except httpx.HTTPError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ApiError(f"cannot reach the pipegraph API at {base_url}: {reason}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code == 429:  # too many logins started: the API says how long to wait
        said = (answer.get("error") or {}).get("message") if isinstance(answer, dict) else None
        wait = response.headers.get("retry-after", "a while")
        raise ApiError(f"the API refused to start a login: {said or f'too many requests, try again in {wait} s'}")
    if response.status_code not in expect or not isinstance(answer, dict):
        raise ApiError(
            f"{base_url} does not offer a browser login: POST {base_url}{path} answered HTTP {response.status_code} "
            "(an older pipegraph? pass --token instead)"
        )
    return answer
