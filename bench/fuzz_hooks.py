"""schemathesis hooks for `bench/fuzz_graphql.py`: how to generate pipegraph's own `JSON` scalar.

The JSON inputs are maps of names to strings (config vars, process types): generate those, including names and
values a client should not send (empty, odd characters), so that their refusals are exercised too.
"""

from __future__ import annotations

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes


def _object(entries: dict[str, str | None]) -> graphql.ValueNode:
    fields = [
        graphql.ObjectFieldNode(
            name=graphql.NameNode(value=key), value=nodes.Null if value is None else nodes.String(value)
        )
        for key, value in entries.items()
    ]
    return nodes.Object(fields)


_NAMES = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,12}\Z")
schemathesis.graphql.scalar("JSON", st.dictionaries(_NAMES, st.none() | st.text(max_size=40), max_size=4).map(_object))
