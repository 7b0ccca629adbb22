"""Every GraphQL document in the README parses and validates against the schema, so the walk-through stays true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from pipegraph.schema import schema

README = Path(__file__).resolve().parent.parent / "README.md"
SDL = build_schema(schema.as_str())
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)


def documents() -> list[str]:
    """Each block, split into its top-level operations (some blocks hold several one-line mutations)."""
    found: list[str] = []
    for block in BLOCKS:
        found.extend(part for part in re.split(r"\n(?=mutation|query|subscription|\{)", block) if part.strip())
    return found


def test_the_readme_has_graphql_documents() -> None:
    assert len(documents()) >= 10


@pytest.mark.parametrize("document", documents())
def test_readme_document_is_valid(document: str) -> None:
    errors = validate(SDL, parse(document))
    assert errors == [], f"{document}\n{errors}"
