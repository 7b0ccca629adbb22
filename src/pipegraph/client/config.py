"""Where the CLI finds its API and token: the environment first, then the file `pipegraph login` wrote."""

from __future__ import annotations

import json
import netrc
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

API_URL_VARIABLE = "PIPEGRAPH_API_URL"
TOKEN_VARIABLE = "PIPEGRAPH_API_TOKEN"
FILE_NAME = "credentials.json"


class NotLoggedIn(click.ClickException):
    exit_code = 1


@dataclass(frozen=True)
class Credentials:
    api_url: str
    token: str


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_CONFIG_HOME/pipegraph`, else `~/.config/pipegraph`, as the XDG base directory spec says."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "pipegraph"


def credentials_file(env: Mapping[str, str] = os.environ) -> Path:
    return config_dir(env) / FILE_NAME


def normalize_api_url(url: str) -> str:
    """The API's base URL: `https://host[/prefix]`, without a trailing slash or `/graphql` (both are accepted)."""
    cleaned = url.strip().rstrip("/")
    cleaned = cleaned.removesuffix("/graphql").rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise click.BadParameter(
            f"{url!r} is not an http(s) URL, e.g. https://pipegraph.example.com", param_hint="--api"
        )
    return cleaned


def stored(env: Mapping[str, str] = os.environ) -> Credentials | None:
    path = credentials_file(env)
    try:
        data = json.loads(path.read_text())
        return Credentials(api_url=str(data["api_url"]), token=str(data["token"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NotLoggedIn(f"{path} is unreadable ({error}): run `pipegraph login` again") from None


def netrc_token(api_url: str) -> str | None:
    """The password of the API host's entry in ~/.netrc, where curl (`curl -n`) and Heroku's CLI keep theirs."""
    path = Path(os.path.expanduser("~/.netrc"))
    if not path.exists():
        return None
    try:
        # The default file, not a path: only then does Python refuse one that others can read, as curl warns.
        entry = netrc.netrc().authenticators(urlsplit(api_url).hostname or "")
    except (OSError, netrc.NetrcParseError) as error:
        raise NotLoggedIn(f"{path} is unusable: {error}") from None
    return entry[2] if entry and entry[2] else None


def load(env: Mapping[str, str] = os.environ) -> Credentials:
    """The credentials to use: PIPEGRAPH_API_URL and PIPEGRAPH_API_TOKEN override the stored ones, and with no token
    anywhere else the API host's entry in ~/.netrc is used."""
    saved = stored(env)
    api_url = env.get(API_URL_VARIABLE) or (saved.api_url if saved else "")
    token = env.get(TOKEN_VARIABLE) or (saved.token if saved else "") or (api_url and netrc_token(api_url)) or ""
    if not api_url or not token:
        raise NotLoggedIn(
            f"not logged in: run `pipegraph login --api URL`, or set {API_URL_VARIABLE} and {TOKEN_VARIABLE}"
        )
    return Credentials(api_url=normalize_api_url(api_url), token=token)


def save(credentials: Credentials, env: Mapping[str, str] = os.environ) -> Path:
    """Write the file readable by its owner only (0600, in a 0700 folder), whatever the umask or an older file."""
    folder = config_dir(env)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / FILE_NAME
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"api_url": credentials.api_url, "token": credentials.token}, file, indent=2)
        file.write("\n")
    return path


def forget(env: Mapping[str, str] = os.environ) -> bool:
    """Remove the stored credentials; False when there were none."""
    try:
        credentials_file(env).unlink()
    except FileNotFoundError:
        return False
    return True
