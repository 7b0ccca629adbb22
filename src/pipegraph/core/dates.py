"""Datetimes as the ORM writes them to SQLite, read by the standard library's C parser."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import datetime
from typing import Any

# What SQLite holds of a datetime the ORM wrote (sqlite3's adapter: isoformat(" ")), with an explicit offset.
_STORED_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{6})?[+-]\d\d:\d\d")


def parsed_if_stored(value: Any) -> Any:
    """The datetime `value` holds when it is text of the form the ORM writes, else `value` itself.

    SQLite answers text, which the ORM parses with the pure-Python iso8601 (the largest cost of building a response
    with dates, and of reading a credential). For that form datetime.fromisoformat gives the same moment and offset
    (and both reject an impossible date, left to the ORM's parser to report); the ORM's own conversion of a datetime
    (to its time zone) still applies. Any other text takes the ORM's own path."""
    if type(value) is str and _STORED_DATETIME.fullmatch(value):
        with suppress(ValueError):
            return datetime.fromisoformat(value)
    return value
