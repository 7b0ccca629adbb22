"""Heroku's naming rule for apps and pipelines, shared by both."""

from __future__ import annotations

import re

from pipegraph.core.errors import DomainError, ErrorCode

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,29}$")


def could_be_name(value: str) -> bool:
    """Whether an app or pipeline could have this name; others need no look-up (nor may they reach a query:
    tortoise refuses a filter value longer than the column)."""
    return NAME_PATTERN.fullmatch(value) is not None


def validate_name(name: str, *, what: str, field: str = "name") -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise DomainError(
            ErrorCode.INVALID_NAME,
            f"{what} name {name!r} is invalid: it must start with a lowercase letter and contain only lowercase "
            "letters, digits and dashes, 3 to 30 characters",
            field=field,
        )
    return name
