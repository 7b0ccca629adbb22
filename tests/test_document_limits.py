"""Documents whose fragments multiply work are refused while being validated, before anything runs.

Fragments that each spread the next one twice made strawberry's depth and alias limiters walk 2^n paths: 20 levels
held the event loop for 9 s, 40 never ended. These are refused now, after one walk of the text.
"""

from __future__ import annotations

import pytest
from graphql import parse, validate

from pipegraph.api.limits import document_limits
from pipegraph.schema import build_schema
from tests.support.clients import GraphQLClient


def doubling_fragments(levels: int, *, on: str = "User", leaf: str = "email", alias: bool = False) -> str:
    """`fragment F0 on User { ...F1 ...F1 }` … `fragment Fn on User { email }`: 2^n fields in a few hundred bytes."""
    aliased = f"a: {leaf} " if alias else ""
    chain = [f"fragment F{i} on {on} {{ {aliased}...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return " ".join([*chain, f"fragment F{levels} on {on} {{ {leaf} }}"])


async def test_the_doubling_fragment_bomb_is_refused(gql: GraphQLClient) -> None:
    # when the document arrives, 40 levels deep (2^40 fields once spread; this never finished before)
    document = f"query {{ viewer {{ ...F0 }} }} {doubling_fragments(40)}"
    assert len(document) < 2000
    body = await gql.raw(document)

    # then it is refused, saying what it would have cost
    assert body["data"] is None
    [error] = body["errors"]
    assert f"'anonymous' selects {1 + 2**40} fields once its fragments are spread" in error["message"]
    assert "more than the 2000 allowed" in error["message"]


async def test_aliases_multiplied_by_fragments_are_counted_as_they_would_run(gql: GraphQLClient) -> None:
    # when each of 30 doubling fragments aliases a field (each spread runs its alias again)
    body = await gql.raw(f"query {{ viewer {{ ...F0 }} }} {doubling_fragments(30, alias=True)}")

    # then the alias count is the spread one, and the document is refused for it
    assert body["data"] is None
    messages = [error["message"] for error in body["errors"]]
    assert f"{2**30 - 1} aliases found. Allowed: 30" in messages


async def test_depth_is_measured_through_fragments(gql: GraphQLClient) -> None:
    # when each fragment nests three fields and spreads the next, 5 fragments deep
    chain = [
        f"fragment P{i} on Pipeline {{ stages {{ apps {{ pipeline {{ ...P{i + 1} ...P{i + 1} }} }} }} }}"
        for i in range(5)
    ]
    chain.append("fragment P5 on Pipeline { name }")
    document = f'query Deep {{ pipeline(name: "shop") {{ ...P0 }} }} {" ".join(chain)}'
    body = await gql.raw(document)

    # then it is the depth limit's refusal, naming the operation and how deep it is
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "'Deep' exceeds maximum operation depth of 12: it nests 16 fields deep"


async def test_a_fragment_bomb_in_a_mutation_never_runs_it(gql: GraphQLClient) -> None:
    # when a mutation selects its payload through doubling fragments
    fragments = doubling_fragments(12, on="App", leaf="name")
    document = f'mutation {{ createApp(input: {{name: "bomb"}}) {{ app {{ ...F0 }} }} }} {fragments}'
    body = await gql.raw(document)

    # then it is refused and no app was created
    assert body["data"] is None
    assert "fields once its fragments are spread" in body["errors"][0]["message"]
    assert (await gql('query { app(name: "bomb") { id } }'))["app"] is None


async def test_fragment_cycles_are_refused(gql: GraphQLClient) -> None:
    # when fragments spread each other in a ring
    body = await gql.raw("query { viewer { ...A } } fragment A on User { email ...B } fragment B on User { ...A }")

    # then graphql-core's cycle rule refuses it
    assert body["data"] is None
    assert any("Cannot spread fragment 'A' within itself" in error["message"] for error in body["errors"]), body


@pytest.mark.parametrize(
    "document",
    [
        "query { viewer { ...A } } fragment A on User { email ...A ...A }",
        "query { viewer { ...A } } fragment A on User { ...B ...B } fragment B on User { ...A ...C } "
        "fragment C on User { ...A }",
        "query { viewer { ...Missing } }",
    ],
    ids=["self", "ring-with-doubling", "unknown"],
)
def test_the_limits_rule_alone_terminates_on_cycles_and_unknown_fragments(document: str) -> None:
    # given only our rule, without graphql-core's cycle and known-fragment rules to stop the document first
    rule = document_limits(max_depth=12, max_aliases=30, max_fields=2000)

    # when it checks a cyclic document, then it finishes (and leaves the refusal to the rules whose job that is)
    assert validate(build_schema()._schema, parse(document), [rule]) == []


async def test_graphiqls_introspection_and_nested_reads_still_pass(gql: GraphQLClient) -> None:
    # when a fragment is spread a few times, as clients do
    data = await gql(
        "query { viewer { ...Me } me: viewer { ...Me } } fragment Me on User { email ...Name ...Name } "
        "fragment Name on User { name }"
    )

    # then it runs
    assert data["me"]["email"] == data["viewer"]["email"] == "ada@example.com"
