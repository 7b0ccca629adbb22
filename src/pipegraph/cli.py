"""`pipegraph`: run the API, the worker, or both on one machine; migrate; export the schema; make tokens.

The people's commands (`login`, `pipelines:promote`, `apps`, …) talk to a pipegraph API over GraphQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pipegraph.client.commands import register as register_client_commands
from pipegraph.settings import Settings
from pipegraph.startup import OneLineErrors, check_database

DEV_EMAIL = "dev@localhost"


@click.group(help=__doc__, cls=OneLineErrors)
def main() -> None:
    pass


@main.command(help="Apply database migrations (DATABASE_URL; SQLite in the data folder by default). Safe to repeat.")
def migrate() -> None:
    from pipegraph.db import close_db
    from pipegraph.db import migrate as run_migrations

    settings = Settings.from_env()

    async def run() -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await run_migrations(settings.database_url)
        await close_db()

    asyncio.run(run())
    click.echo(f"migrations applied to {_redact(settings.database_url)}")


@main.command(
    help="Serve the API (GraphQL at /graphql, slug uploads at /slugs) without a worker. Needs a migrated database."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    import uvicorn

    from pipegraph.api.app import create_app
    from pipegraph.gctune import tune_after_startup
    from pipegraph.logs import capture_stray_output, configure_logging

    settings = Settings.from_env()
    check_database(settings.database_url, shown_as=_redact(settings.database_url))  # or exit, saying why
    configure_logging()
    capture_stray_output()
    app = create_app(settings)
    tune_after_startup()
    uvicorn.run(app, host=host, port=port, proxy_headers=True, **_uvicorn_options(settings))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `serve` and `dev` both give uvicorn."""
    return {
        # uvicorn's own lines go through our handler too (JSON off a terminal).
        "log_config": None,
        # A WebSocket message has the same limit as a request body.
        "ws_max_size": settings.max_body_bytes,
        # permessage-deflate keeps a zlib state per socket and direction: with 1,000 subscribers that was ~40 MiB of
        # the API's memory, for events of a few hundred bytes that hardly compress.
        "ws_per_message_deflate": False,
    }


@main.command(help="Run an arq worker (workers.WorkerSettings) against REDIS_URL and DATABASE_URL.")
@click.option(
    "--check",
    is_flag=True,
    help="Only check, as a container health check: exit 0 when the database and Redis answer and a worker has "
    "checked in recently, 1 (saying what fails) otherwise.",
)
def worker(check: bool) -> None:
    from pipegraph.logs import capture_stray_output, configure_logging

    if not os.environ.get("REDIS_URL"):
        raise click.UsageError(
            "pipegraph worker needs REDIS_URL (the embedded Redis lives only inside `pipegraph dev`)"
        )
    if check:
        _check_worker(Settings.from_env())

    from workers import WorkerSettings  # what `arq workers.WorkerSettings` runs
    from workers.process import run

    from pipegraph.gctune import tune_after_startup

    configure_logging()  # JSON lines off a terminal, each naming the job it was written in (workers/registry.py)
    capture_stray_output()
    tune_after_startup()
    run(WorkerSettings)  # arq's worker, riding out Redis restarts


def _check_worker(settings: Settings) -> None:
    """`pipegraph worker --check`: one line, `healthy: …` on stdout or `unhealthy: …` on stderr, and the exit status."""
    from pipegraph.api.health import OK, check_redis_and_worker
    from pipegraph.startup import StartupError

    try:
        check_database(settings.database_url, shown_as=_redact(settings.database_url))
    except StartupError as error:
        click.echo(f"unhealthy: {error.message}", err=True)
        sys.exit(1)
    checks = asyncio.run(check_redis_and_worker(settings.redis_url))
    failing = [f"{name} {state}" for name, state in checks.items() if state != OK]
    if failing:
        click.echo(f"unhealthy: {'; '.join(failing)}", err=True)
        sys.exit(1)
    click.echo("healthy: the database and Redis answer and a worker has checked in recently")
    sys.exit(0)


@main.command("export-schema", help="Print the GraphQL schema (SDL); `make schema` writes it to schema.graphql.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export_schema(output: Path | None) -> None:
    from pipegraph.schema import schema

    sdl = schema.as_str() + "\n"
    if output:
        output.write_text(sdl)
    else:
        click.echo(sdl, nl=False)


@main.group(help="Manage API tokens.")
def tokens() -> None:
    pass


@tokens.command("create", help="Create an API token for a user (created if new) and print it once.")
@click.option("--email", required=True)
@click.option("--description", default="", help="What the token is for.")
def tokens_create(email: str, description: str) -> None:
    from pipegraph.accounts.service import create_token, get_or_create_user
    from pipegraph.core.errors import DomainError
    from pipegraph.db import close_db, init_db

    async def run() -> str:
        await init_db(Settings.from_env().database_url)
        try:
            user = await get_or_create_user(email)
            _, secret = await create_token(user, description=description)
            return secret
        finally:
            await close_db()

    try:
        click.echo(asyncio.run(run()))
    except DomainError as error:
        raise click.UsageError(error.message) from None


@tokens.command("list", help="List a user's tokens, newest first: id, description, created, last used, revoked.")
@click.option("--email", required=True)
def tokens_list(email: str) -> None:
    from pipegraph.accounts.models import ApiToken
    from pipegraph.accounts.service import get_user
    from pipegraph.core.errors import DomainError
    from pipegraph.db import close_db, init_db

    async def run() -> list[ApiToken]:
        await init_db(Settings.from_env().database_url)
        try:
            return await ApiToken.filter(user=await get_user(email, field="email")).order_by("-id")
        finally:
            await close_db()

    try:
        rows = asyncio.run(run())
    except DomainError as error:
        raise click.UsageError(error.message) from None
    table = [("ID", "DESCRIPTION", "CREATED", "LAST USED", "REVOKED")]
    table += [
        (str(t.id), t.description or "-", _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at)) for t in rows
    ]
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tokens.command("revoke", help="Revoke a token by its id (as `tokens list` shows it): it stops working at once.")
@click.argument("token_id", metavar="ID")
def tokens_revoke(token_id: str) -> None:
    from pipegraph.accounts.service import revoke_token
    from pipegraph.core.errors import DomainError
    from pipegraph.core.relay import NO_ROW_ID, db_id
    from pipegraph.db import close_db, init_db
    from pipegraph.redis import running_dev_redis

    key = db_id(token_id.strip())
    if key == NO_ROW_ID:
        raise click.UsageError(f"{token_id!r} is not a token id: `pipegraph tokens list --email …` shows them")

    async def run() -> datetime | None:
        settings = Settings.from_env()
        # Without REDIS_URL, the `pipegraph dev` running on this data folder and database, if any, is told.
        redis_url = settings.redis_url or running_dev_redis(settings.data_dir, database_url=settings.database_url)
        await init_db(settings.database_url)
        try:
            return (await revoke_token(key, redis_url=redis_url)).revoked_at
        finally:
            await close_db()

    try:
        revoked_at = asyncio.run(run())
    except DomainError as error:
        raise click.UsageError(f"{error.message}: `pipegraph tokens list --email …` shows the ids") from None
    click.echo(f"token {key} revoked (since {_when(revoked_at)})")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


@main.command(
    help="Everything on one machine: migrate SQLite (or DATABASE_URL), start an embedded Redis unless REDIS_URL is "
    "set, serve the API with GraphiQL and run an in-process worker. Prints the URL and a token."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Also seed a small demo pipeline (idempotent).")
def dev(host: str, port: int, demo: bool) -> None:
    # systemd and Docker stop a process with SIGTERM, whose default is to die on the spot and leave the embedded
    # redis-server behind: turn it into Ctrl-C, so both leave through the same clean-up (uvicorn hands a signal it
    # caught back to the handler it found, this one, once the server has stopped).
    signal.signal(signal.SIGTERM, lambda signum, frame: signal.raise_signal(signal.SIGINT))
    from pipegraph.logs import configure_logging

    configure_logging()  # readable lines on a terminal, JSON when run under a supervisor
    asyncio.run(_dev(host, _listen(host, port), demo))


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything starts: a port in use is one line and exit 1, instead of a banner
    saying "pipegraph is running" followed by uvicorn's bind error (and an embedded Redis started for nothing)."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)  # without create_server's added address
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None


@contextlib.asynccontextmanager
async def _redis_url(settings: Settings) -> AsyncIterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    from pipegraph.redis import EmbeddedRedis, advertise_dev_redis, withdraw_dev_redis

    embedded = EmbeddedRedis().start()
    try:
        advertise_dev_redis(settings.data_dir, embedded.url, settings.database_url)
        yield embedded.url
    finally:
        withdraw_dev_redis(settings.data_dir, embedded.url)
        embedded.stop()


async def _dev(host: str, listening: socket.socket, demo: bool) -> None:
    import dataclasses

    import uvicorn
    from workers.runner import in_process_worker

    from pipegraph.api.app import create_app
    from pipegraph.db import close_db, init_db
    from pipegraph.db import migrate as run_migrations
    from pipegraph.devtools import dev_login_url, dev_token, seed_demo
    from pipegraph.gctune import tune_after_startup

    port = listening.getsockname()[1]  # the one bound (--port 0 picks a free one)
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if "PIPEGRAPH_SANDBOX" not in os.environ:
        # Works out of the box on a laptop without bubblewrap: unsandboxed then, and said loudly; the worker refuses.
        settings = dataclasses.replace(settings, sandbox=dataclasses.replace(settings.sandbox, mode="auto"))
    async with _redis_url(settings) as redis_url:
        settings = dataclasses.replace(settings, redis_url=redis_url)
        await run_migrations(settings.database_url)
        await close_db()
        await init_db(settings.database_url, pool_size=settings.db_pool_size)
        try:
            token = await dev_token(settings, DEV_EMAIL)
            base_url = settings.public_url or f"http://{host}:{port}"
            dashboard = await dev_login_url(base_url, DEV_EMAIL)
            if demo:
                await seed_demo(settings, DEV_EMAIL)
            app = create_app(settings, manage_db=False)
            server = uvicorn.Server(  # host and port only for its "running on" line: it serves `listening`
                uvicorn.Config(app, host=host, port=port, **_uvicorn_options(settings))
            )
            scheme, _, rest = base_url.partition("://")
            click.echo(
                f"\npipegraph is running\n  dashboard: {dashboard}\n  GraphiQL:  {base_url}/graphql\n"
                f'  token:     {token}\n  header:    {{"Authorization": "Bearer {token}"}}\n'
                f"  git push:  git remote add pipegraph {scheme}://git:{token}@{rest}/git/<app>.git\n"
                f"  database:  {_redact(settings.database_url)}\n  data:      {settings.data_dir}\n",
                err=False,
            )
            tune_after_startup()
            try:
                async with in_process_worker(settings):
                    await server.serve(sockets=[listening])
            except asyncio.CancelledError:
                # uvicorn hands the Ctrl-C it caught back to asyncio's handler once the server stopped, and asyncio
                # cancels this task with it: the worker has stopped in order by then, so Ctrl-C is a normal end
                # (status 0), not an interruption.
                current = asyncio.current_task()
                if current is None or not server.should_exit:
                    raise
                current.uncancel()
        finally:
            await close_db()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url


register_client_commands(main)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
