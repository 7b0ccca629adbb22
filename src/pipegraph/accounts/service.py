"""Users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from pipegraph.accounts.models import ApiToken, User
from pipegraph.core.errors import DomainError, ErrorCode

TOKEN_PREFIX = "pgt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_or_create_user(email: str, *, name: str = "") -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise DomainError(ErrorCode.INVALID, f"{email!r} is not an email address", field="email")
    user, _ = await User.get_or_create(email=email, defaults={"name": name})
    return user


async def create_token(user: User, *, description: str = "") -> tuple[ApiToken, str]:
    """Returns the stored token and its secret, which is shown once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = await ApiToken.create(user=user, description=description, token_hash=hash_token(secret))
    return token, secret


async def authenticate(secret: str) -> User | None:
    token = await ApiToken.filter(token_hash=hash_token(secret), revoked_at__isnull=True).select_related("user").first()
    return token.user if token else None


def now() -> datetime:
    return datetime.now(UTC)
