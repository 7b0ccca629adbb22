"""The README shows the rule table the code enforces: generated from RULES and VISIBILITY, so the two cannot drift."""

from __future__ import annotations

from pathlib import Path

from pipegraph.access.rules import RULES, VISIBILITY
from pipegraph.access.table import rule_table, with_rule_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_rule_table_matches_the_code() -> None:
    readme = README.read_text()

    assert rule_table() in readme, (
        "README.md's rule table is out of date with access/rules.py: "
        "run `.venv/bin/python -m pipegraph.access.table README.md` and commit it"
    )


def test_the_generated_table_has_a_row_for_every_rule_and_object() -> None:
    table = rule_table()

    for operation in RULES:
        assert f"| `{operation}` |" in table
    for kind in VISIBILITY:
        assert f"| {kind} |" in table
    # and rewriting the README's table leaves a current README unchanged
    assert with_rule_table(README.read_text()) == README.read_text()
