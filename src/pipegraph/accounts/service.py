"""Users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from pipegraph.access.preload import LIVE_TOKEN, Along, read_with_rights
from pipegraph.accounts.models import ApiToken, User
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.relay import parse_ref
from pipegraph.streams.notices import AccessNotice, announce

TOKEN_PREFIX = "pgt_"
# `last_used_at` is a hint for people deciding which tokens to revoke, not an audit log: recording it at most once a
# minute keeps authentication a single read on almost every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_or_create_user(email: str, *, name: str = "") -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise DomainError(ErrorCode.INVALID, f"{email!r} is not an email address", field="email")
    user, _ = await User.get_or_create(email=email, defaults={"name": name})
    return user


async def get_user(reference: str, *, field: str = "user") -> User:
    """A user by email or global ID. Only users who exist: pipegraph sends no invitations."""
    if "@" in reference:
        email = reference.strip().lower()
        user = await User.get_or_none(email=email) if len(email) <= 254 else None
        if user is None:
            raise NotFound("user", email, field=field)
        return user
    ref = parse_ref(reference, "User")
    user = await User.get_or_none(id=ref.id) if ref.id is not None else None
    if user is None:
        raise NotFound("user", ref, field=field)
    return user


async def create_token(user: User, *, description: str = "") -> tuple[ApiToken, str]:
    """Returns the stored token and its secret, which is shown once and never stored."""
    description = description.strip()
    if len(description) > 200:
        raise DomainError(ErrorCode.INVALID, "a description has at most 200 characters", field="description")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await ApiToken.create(user=user, description=description, token_hash=hash_token(secret))
    return token, secret


async def authenticate(secret: str, *, rights: bool = False, along: Along | None = None) -> ApiToken | None:
    """The live token for a secret, its user loaded (and with `rights`, the user's rights, and `along`'s rows read in
    the same statement: access/preload.py); None for an unknown or revoked one."""
    token: ApiToken | None
    if rights:
        token = await read_with_rights(LIVE_TOKEN, [hash_token(secret)], along)
    else:
        token = (
            await ApiToken.filter(token_hash=hash_token(secret), revoked_at__isnull=True).select_related("user").first()
        )
    if token is None:
        return None
    current = now()
    if token.last_used_at is None or current - token.last_used_at >= LAST_USED_PRECISION:
        # Conditional, so concurrent requests of one token write once and a clock step back never moves it back.
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=current - LAST_USED_PRECISION)
        await ApiToken.filter(stale, id=token.id).update(last_used_at=current)
        token.last_used_at = current
    return token


async def is_live(token_id: int) -> bool:
    """Whether a token is still unrevoked: checked again on every message and event of an open WebSocket."""
    return await ApiToken.filter(id=token_id, revoked_at__isnull=True).exists()


async def live_tokens(token_ids: Iterable[int]) -> set[int]:
    """Which of these tokens are still unrevoked."""
    rows = await ApiToken.filter(id__in=list(token_ids), revoked_at__isnull=True).values_list("id", flat=True)
    return {int(key) for key in rows}  # type: ignore[call-overload]


async def list_tokens(user: User, *, limit: int, before_id: int | None = None) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they show when and that they were revoked)."""
    query = ApiToken.filter(user_id=user.id).order_by("-id")
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.limit(limit)


async def revoke_token(
    token_id: int, *, user: User | None = None, named: object = None, redis_url: str | None = None
) -> ApiToken:
    """Revoke a token (only `user`'s, when given); revoking it again keeps the first revocation time.

    `named` is how the client named it (a global ID), for the refusal to show instead of the key. Returns once every
    API process listening on `redis_url` refuses it (streams/notices.py): its open WebSockets get nothing more.
    """
    scope = ApiToken.filter(id=token_id)
    if user is not None:
        scope = scope.filter(user_id=user.id)
    await scope.filter(revoked_at__isnull=True).update(revoked_at=now())
    token = await scope.first()
    if token is None:
        # Someone else's token is reported exactly like a missing one: nothing tells that it exists.
        raise NotFound("API token", token_id if named is None else named, field="id")
    await announce(redis_url, AccessNotice(tokens=frozenset({token.id})))
    return token


def now() -> datetime:
    return datetime.now(UTC)
