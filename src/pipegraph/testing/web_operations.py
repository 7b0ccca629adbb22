"""The web dashboard's GraphQL documents, read from its source (web/src/dashboard/operations.ts), for the tests and
the benches: they run the very documents the dashboard sends, so that no copy of one can drift from it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

OPERATIONS = Path(__file__).resolve().parents[3] / "web" / "src" / "dashboard" / "operations.ts"

# `export const Name = graphql(` + a template literal without substitutions + `)`.
_DEFINITION = re.compile(r"export const (\w+) = graphql\(`((?:[^`$]|\$(?!\{))*)`\);")
_NAMED = re.compile(r"^\s*(?:query|mutation|subscription|fragment)\s+(\w+)")
_SPREAD = re.compile(r"\.\.\.\s*(\w+)")


@cache
def _definitions() -> dict[str, str]:
    """Each operation and fragment of operations.ts by its GraphQL name, as written there."""
    found: dict[str, str] = {}
    for _, text in _DEFINITION.findall(OPERATIONS.read_text(encoding="utf-8")):
        named = _NAMED.match(text)
        if named is None:
            raise ValueError(f"a document without a name in {OPERATIONS.name}: {text[:60]!r}")
        found[named.group(1)] = text.strip()
    return found


def operation_names() -> list[str]:
    """The names of the operations (not the fragments) of operations.ts, in its order."""
    return [name for name, text in _definitions().items() if not text.startswith("fragment")]


def web_document(name: str) -> str:
    """The operation `name` with the fragments it spreads (transitively), as the dashboard sends it: the operation
    first, then each fragment once, in the order they are first spread."""
    definitions = _definitions()
    if name not in definitions:
        raise KeyError(f"{name} is not an operation of {OPERATIONS.name}")
    parts = [definitions[name]]
    spread: list[str] = []
    for part in parts:
        for fragment in _SPREAD.findall(part):
            if fragment in definitions and fragment not in spread:  # `... on Type` spreads are inline: `on` is none
                spread.append(fragment)
                parts.append(definitions[fragment])
    return "\n".join(parts)
