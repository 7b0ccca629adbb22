"""Browser sign-in: a one-time login link (as `pipegraph dev` prints it) exchanged for a session cookie.

Secrets are random and long and only their SHA-256 is stored, as for API tokens. Ending a session is a server-side
update, so a copied cookie stops working at once, also on an open WebSocket (api/websocket.py checks it again).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from pipegraph.access.preload import LIVE_SESSION, Along, read_with_rights
from pipegraph.accounts.models import BrowserSession, BrowserSessionKind, User
from pipegraph.accounts.service import hash_token, now
from pipegraph.streams.notices import AccessNotice, announce

LOGIN_PREFIX = "pgl_"
SESSION_PREFIX = "pgs_"
# Printed at start and used by a person soon after; once used, it is spent.
LOGIN_LIFETIME = timedelta(hours=24)
SESSION_LIFETIME = timedelta(days=7)


async def _create(user: User, kind: BrowserSessionKind, prefix: str, lifetime: timedelta) -> tuple[BrowserSession, str]:
    secret = prefix + secrets.token_urlsafe(32)
    row = await BrowserSession.create(user=user, kind=kind, secret_hash=hash_token(secret), expires_at=now() + lifetime)
    return row, secret


async def create_login_link_token(user: User) -> str:
    """A one-time secret for `/login?token=…`."""
    _, secret = await _create(user, BrowserSessionKind.LOGIN, LOGIN_PREFIX, LOGIN_LIFETIME)
    return secret


async def exchange_login_token(secret: str) -> tuple[BrowserSession, str] | None:
    """Spend a login secret and open a session for its user; None if unknown, spent or expired."""
    current = now()
    # One conditional update spends it: two tabs opening the same link race, and only one wins.
    spent = await BrowserSession.filter(
        secret_hash=hash_token(secret),
        kind=BrowserSessionKind.LOGIN,
        ended_at__isnull=True,
        expires_at__gt=current,
    ).update(ended_at=current)
    if not spent:
        return None
    login = await BrowserSession.get(secret_hash=hash_token(secret)).select_related("user")
    return await _create(login.user, BrowserSessionKind.SESSION, SESSION_PREFIX, SESSION_LIFETIME)


async def session_for(secret: str, *, rights: bool = False, along: Along | None = None) -> BrowserSession | None:
    """The live session for a cookie's secret, its user loaded (and with `rights`, the user's rights, and `along`'s
    rows read in the same statement)."""
    if rights:
        expires_at = BrowserSession._meta.fields_map["expires_at"].to_db_value(now(), BrowserSession)
        values = [hash_token(secret), BrowserSessionKind.SESSION.value, expires_at]
        session: BrowserSession | None = await read_with_rights(LIVE_SESSION, values, along)
        return session
    return (
        await BrowserSession.filter(
            secret_hash=hash_token(secret), kind=BrowserSessionKind.SESSION, ended_at__isnull=True, expires_at__gt=now()
        )
        .select_related("user")
        .first()
    )


async def live_sessions(session_ids: Iterable[int]) -> dict[int, datetime]:
    """Of these sessions, those not ended, with when each expires (expired ones included: the caller compares)."""
    rows = await BrowserSession.filter(id__in=list(session_ids), ended_at__isnull=True).values_list("id", "expires_at")
    return {int(key): expires for key, expires in rows}


async def end_session(secret: str, *, redis_url: str | None = None) -> None:
    """Sign out: the session is ended server-side, and its open WebSockets closed before this returns (through
    `redis_url`, streams/notices.py). Safe to repeat, and silent for an unknown secret."""
    scope = BrowserSession.filter(secret_hash=hash_token(secret), kind=BrowserSessionKind.SESSION)
    await scope.filter(ended_at__isnull=True).update(ended_at=now())
    ended: list[int] = await scope.values_list("id", flat=True)  # type: ignore[assignment]
    if ended:
        await announce(redis_url, AccessNotice(sessions=frozenset(ended)))
