"""login, logout, auth:whoami: which API the CLI talks to, and as whom."""

from __future__ import annotations

import os
import sys

import click

from pipegraph.client import browser_login, config
from pipegraph.client.api import Api
from pipegraph.client.commands.base import command, connect


@command(
    "login",
    "Log in: in the browser (as `heroku login`), or with a token, checked against the API; stored for the other "
    "commands.",
    "pipegraph login --api https://pipegraph.example.com",
    "pipegraph login --api https://pipegraph.example.com --interactive",
    "pipegraph login --api http://127.0.0.1:8000 --token pgt_…",
    details="In a terminal, it opens the dashboard's page that asks you (signed in) to confirm this login; once you "
    "do, a new API token of yours, described `CLI login on <this host>`, is made for the CLI alone. --browser picks "
    "the browser (else $BROWSER or the system's); where none opens, open the printed URL yourself. With --token, "
    "--interactive (-i), or a token piped in, no browser is used (`pipegraph tokens create` or createApiToken make "
    "one). The file is $XDG_CONFIG_HOME/pipegraph/credentials.json (~/.config by default), readable by you only. "
    "PIPEGRAPH_API_URL and PIPEGRAPH_API_TOKEN, when set, override it; with no token in either, the API host's entry "
    "in ~/.netrc is used.",
)
@click.option("--api", "api_url", metavar="URL", help="The API's base URL (its GraphQL endpoint is URL/graphql).")
@click.option("--token", metavar="TOKEN", help="An API token, instead of the browser.")
@click.option("-i", "--interactive", is_flag=True, help="Type a token (hidden) instead of the browser.")
@click.option("--browser", metavar="BROWSER", help='The browser to open, e.g. "firefox" (Python\'s webbrowser names).')
def login(api_url: str | None, token: str | None, interactive: bool, browser: str | None) -> None:
    saved = config.stored()
    if not api_url:
        default = os.environ.get(config.API_URL_VARIABLE) or (saved.api_url if saved else None)
        api_url = click.prompt("API URL", default=default)
    base = config.normalize_api_url(api_url or "")
    if not token and not interactive and sys.stdin.isatty():
        browser_login.wait_for_key()
        token = browser_login.login(base, browser=browser).token
    elif not token:
        # Piped in (`… | pipegraph login`), the token is read as a line: getpass would only warn about echo there.
        token = sys.stdin.readline() if not sys.stdin.isatty() else click.prompt("API token", hide_input=True)
    if not (token or "").strip():
        raise click.UsageError(
            "no API token given: pass --token, or type or pipe one in (in a terminal, the browser logs you in)"
        )
    credentials = config.Credentials(api_url=base, token=(token or "").strip())
    email = Api(credentials).query("viewer")["viewer"]["email"]
    path = config.save(credentials)
    click.echo(f"Logged in as {email} at {base}")
    click.echo(f"credentials saved to {path}", err=True)


@command("logout", "Forget the stored API URL and token.", "pipegraph logout")
def logout() -> None:
    with_file = config.forget()
    click.echo("Logging out... done" if with_file else "Not logged in: nothing to forget")
    overriding = [name for name in (config.API_URL_VARIABLE, config.TOKEN_VARIABLE) if os.environ.get(name)]
    if overriding:
        click.echo(f"{' and '.join(overriding)} still set in this shell: unset to log out fully", err=True)


@command("auth:whoami", "Print the email of the user the token belongs to.", "pipegraph auth:whoami")
def whoami() -> None:
    click.echo(connect().query("viewer")["viewer"]["email"])


COMMANDS = [login, logout, whoami]
