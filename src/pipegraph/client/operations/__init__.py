"""The GraphQL documents the CLI sends, one operation per `.graphql` file (validated against the schema by a test)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def document(name: str) -> str:
    """The text of `operations/<name>.graphql`."""
    return resources.files(__name__).joinpath(f"{name}.graphql").read_text()


def names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".graphql")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".graphql")
    )
