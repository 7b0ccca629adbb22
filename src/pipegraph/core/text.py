"""Free text from clients: bounded, and free of NUL (PostgreSQL cannot store it; no command or env var holds it)."""

from __future__ import annotations

from pipegraph.core.errors import DomainError, ErrorCode


def validate_text(value: str, *, what: str, field: str, max_length: int | None = None) -> str:
    if "\x00" in value:
        raise DomainError(ErrorCode.INVALID, f"{what} must not contain a NUL character", field=field)
    if max_length is not None and len(value) > max_length:
        raise DomainError(ErrorCode.INVALID, f"{what} is longer than {max_length} characters", field=field)
    return value
