"""`pipegraph login` through a browser: started by the CLI, confirmed by a signed-in dashboard user, collected once.

Like a device authorization grant (RFC 8628), with one difference: the URL carries the code, so the person confirms
the request they are shown rather than typing a code. The code in the URL lets a page show and decide the request; only
the CLI's own secret, which no page ever sees, collects the token. Every step is one conditional update, so two tabs
confirming, or two polls collecting, race and only one wins.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.expressions import Q

from pipegraph.accounts.models import CliLogin, User
from pipegraph.accounts.service import create_token, hash_token, now
from pipegraph.core.errors import DomainError, ErrorCode

CODE_PREFIX = "pgc_"
# Long enough to switch to a browser and sign in, short enough that a forgotten one is soon worthless.
LIFETIME = timedelta(minutes=10)
# A confirmation just before the end still reaches a CLI polling every POLL_SECONDS.
COLLECT_GRACE = timedelta(minutes=1)
POLL_SECONDS = 1.0
# Expired rows are deleted by the next start after this (a CLI still polling by then was told it expired long
# before). With the cap on pending logins, the table holds at most about (LIFETIME + this) / LIFETIME times the cap.
KEPT_AFTER_EXPIRY = timedelta(hours=1)
HOST_MAX = 100


class Outcome(StrEnum):
    """Where a login stands for the CLI polling it."""

    PENDING = "pending"
    CONFIRMED = "confirmed"  # with the token, this once
    REFUSED = "refused"
    EXPIRED = "expired"
    USED = "used"  # its token was already handed out
    UNKNOWN = "unknown"


class TooManyPending(Exception):
    """As many logins are pending as the server takes at once (PIPEGRAPH_CLI_LOGIN_MAX_PENDING)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many CLI logins are waiting to be confirmed: try again later")
        self.retry_after = retry_after  # seconds until the first of them expires


@dataclass(frozen=True)
class Started:
    login: CliLogin
    code: str
    secret: str


@dataclass(frozen=True)
class Collected:
    outcome: Outcome
    token: str | None = None
    user: User | None = None


async def start(host: str, *, max_pending: int) -> Started:
    """A new login, its code for the URL and its secret for the CLI; long-expired ones are cleared on the way.
    Refused (TooManyPending, nothing stored) while `max_pending` logins are waiting for an answer: a start needs no
    credential. Two starts at once may both pass the count: the cap bounds a flood, not one login more."""
    current = now()
    await CliLogin.filter(expires_at__lt=current - KEPT_AFTER_EXPIRY).delete()
    waiting = CliLogin.filter(confirmed_at__isnull=True, refused_at__isnull=True, expires_at__gt=current)
    if await waiting.count() >= max_pending:
        first = await waiting.order_by("expires_at").first()
        until = first.expires_at if first is not None else current + LIFETIME
        raise TooManyPending(max(1, math.ceil((until - current).total_seconds())))
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(32)
    login = await CliLogin.create(
        code_hash=hash_token(code),
        secret_hash=hash_token(secret),
        host=" ".join(host.split())[:HOST_MAX],
        expires_at=current + LIFETIME,
    )
    return Started(login=login, code=code, secret=secret)


async def pending(code: str) -> CliLogin:
    """The login a page shows, while it can still be decided; why not, as a refusal, otherwise."""
    login = await CliLogin.get_or_none(code_hash=hash_token(code))
    if login is None:
        raise DomainError(ErrorCode.NOT_FOUND, "this login request is unknown: run `pipegraph login` again")
    if login.confirmed_at is not None or login.refused_at is not None:
        raise DomainError(ErrorCode.INVALID, "this login request was already answered: run `pipegraph login` again")
    if login.expires_at <= now():
        raise DomainError(ErrorCode.INVALID, "this login request expired: run `pipegraph login` again")
    return login


async def decide(code: str, user: User, *, confirm: bool) -> CliLogin:
    """Confirm the login for `user` (their token is made when the CLI collects it), or refuse it. Once only."""
    login = await pending(code)
    current = now()
    answer = {"confirmed_at": current, "user_id": user.id} if confirm else {"refused_at": current}
    answered = await CliLogin.filter(
        id=login.id, confirmed_at__isnull=True, refused_at__isnull=True, expires_at__gt=current
    ).update(**answer)
    if not answered:
        await pending(code)  # says why: answered or expired in between
        raise DomainError(ErrorCode.INVALID, "this login request was already answered")
    return await CliLogin.get(id=login.id)


async def collect(secret: str) -> Collected:
    """What the CLI holding `secret` gets: the new token once confirmed (made now, handed out once), else where the
    login stands."""
    login = await CliLogin.get_or_none(secret_hash=hash_token(secret)).select_related("user")
    if login is None:
        return Collected(Outcome.UNKNOWN)
    current = now()
    if login.collected_at is not None:
        return Collected(Outcome.USED)
    if login.refused_at is not None:
        return Collected(Outcome.REFUSED)
    if login.confirmed_at is not None and login.user is not None:
        if current > login.expires_at + COLLECT_GRACE or not await _spend(login.id, current):
            return Collected(Outcome.EXPIRED if current > login.expires_at + COLLECT_GRACE else Outcome.USED)
        _, token = await create_token(login.user, description=description(login.host))
        return Collected(Outcome.CONFIRMED, token=token, user=login.user)
    if login.expires_at <= current:
        return Collected(Outcome.EXPIRED)
    return Collected(Outcome.PENDING)


async def _spend(login_id: int, current: datetime) -> bool:
    return bool(await CliLogin.filter(Q(collected_at__isnull=True), id=login_id).update(collected_at=current))


def description(host: str) -> str:
    """What the token is listed as among the user's tokens."""
    return f"CLI login on {host}" if host else "CLI login"
