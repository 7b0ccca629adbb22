"""Errors a client caused carry `extensions.code = BAD_USER_INPUT`; internal ones stay masked, with no code."""

from __future__ import annotations

import base64

import pytest

from tests.support.clients import GraphQLClient

FORGED = base64.urlsafe_b64encode(b"app:" + b"a" * 40).decode()  # the right kind, around no possible name


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            f'query {{ apps(after: "{FORGED}") {{ edges {{ cursor }} }} }}',
            "`after` is not a cursor of this list",
        ),
        ('query { apps(after: "") { edges { cursor } } }', "`after` is not a cursor of this list"),
        ("query { apps(first: 101) { edges { cursor } } }", "`first` must be between 0 and 100, got 101"),
        ('mutation { revokeApiToken(input: {id: ""}) { apiToken { id } } }', "Value cannot represent a GlobalID"),
    ],
    ids=["forged-cursor", "empty-cursor", "first-over-cap", "not-an-id"],
)
async def test_a_refusal_of_bad_input_is_labelled_as_the_clients(
    gql: GraphQLClient, document: str, message: str
) -> None:
    # when a resolver refuses what the client sent
    body = await gql.raw(document)

    # then the error says why, on its path, with the code that tells clients (and fuzzers) it is theirs to fix
    [error] = body["errors"]
    assert message in error["message"]
    assert error["path"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
