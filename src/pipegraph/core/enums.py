"""GraphQL descriptions for the values of enums that are also the models' own enums (stored by value)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


def describe_values(enum: type[E], descriptions: Mapping[E, str]) -> None:
    """Describe every value of an enum already registered with `strawberry.enum`.

    `strawberry.enum_value(...)` would put the description in the class body, but these classes are the models' too:
    their members must keep their plain stored values whether or not the schema was ever built. Every member needs a
    description, so a value added later cannot go out undocumented.
    """
    missing = [member.name for member in enum if member not in descriptions]
    if missing:
        raise ValueError(f"{enum.__name__}: no GraphQL description for {', '.join(missing)}")
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = descriptions[enum(value.value)]
