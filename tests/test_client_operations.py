"""Every GraphQL document the CLI sends validates against schema.graphql, so the CLI cannot drift from the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from pipegraph.client.operations import document, names

SCHEMA = build_schema((Path(__file__).resolve().parent.parent / "schema.graphql").read_text())


def test_the_cli_has_its_operations() -> None:
    assert {"promote", "promotion_progress", "release_log", "viewer"} <= set(names())


@pytest.mark.parametrize("name", names())
def test_operation_is_valid_against_the_schema(name: str) -> None:
    # when the document is validated against the exported schema
    tree = parse(document(name))
    errors = validate(SCHEMA, tree)

    # then it is valid and holds exactly one operation (the client sends the file as it is)
    assert errors == [], f"{name}.graphql: {errors}"
    assert len(tree.definitions) == 1
