"""Signed, expiring URLs: whoever holds one may do that one thing (PUT a blob, read a source) until it expires."""

from __future__ import annotations

import hashlib
import hmac
import time


def signature(secret_key: str, purpose: str, key: int, expires: int) -> str:
    return hmac.new(secret_key.encode(), f"{purpose}:{key}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_query(secret_key: str, purpose: str, key: int, ttl: int) -> str:
    expires = int(time.time()) + ttl
    return f"expires={expires}&signature={signature(secret_key, purpose, key, expires)}"


def verify(secret_key: str, purpose: str, key: int, *, expires: str, signature_given: str) -> bool:
    try:
        expiry = int(expires)
    except ValueError:
        return False
    expected = signature(secret_key, purpose, key, expiry)
    return expiry >= time.time() and hmac.compare_digest(expected, signature_given)
