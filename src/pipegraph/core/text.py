"""Free text from clients: bounded, and storable (PostgreSQL cannot store NUL; no command or env var holds it)."""

from __future__ import annotations

from pipegraph.core.errors import DomainError, ErrorCode


def text_problem(value: str) -> str | None:
    """What makes a client's string unstorable anywhere (database, environment, command line), or None."""
    if "\x00" in value:
        return "must not contain a NUL character"
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, sent as an escape in JSON: no UTF-8 text holds it
        return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def validate_text(value: str, *, what: str, field: str, max_length: int | None = None) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise DomainError(ErrorCode.INVALID, f"{what} {problem}", field=field)
    if max_length is not None and len(value) > max_length:
        raise DomainError(ErrorCode.INVALID, f"{what} is longer than {max_length} characters", field=field)
    return value
