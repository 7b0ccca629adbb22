"""Text no database can store (NUL, a lone surrogate), in any string argument of any operation, is a clear refusal
naming where it was, never an internal error, and changes nothing.

The cases are read from the schema: every string (String, ID, JSON) an input of each mutation can carry, and every
string argument of every field a query or subscription can reach, so a new one is covered without a line here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest

from tests.support.authz_world import PERSONAL, World, build_world, snapshot
from tests.test_authorization_matrix import MUTATIONS, SDL, mutation_document, post

NUL = "a\x00b"
STRINGS = ("String", "ID")
GLOBAL_ID_REFUSAL = "Value cannot represent a GlobalID"


@dataclass(frozen=True)
class Case:
    path: tuple[str, ...]  # input field names down to the value
    value: Any  # what is sent there
    one_of: bool = False  # the field sits in a @oneOf input: sent alone in it


def _cases(input_type: graphql.GraphQLInputObjectType, path: tuple[str, ...] = ()) -> list[Case]:
    cases = []
    one_of = bool(getattr(input_type, "is_one_of", False))
    for name, field in input_type.fields.items():
        named = graphql.get_named_type(field.type)
        listed = isinstance(graphql.get_nullable_type(field.type), graphql.GraphQLList)
        here = (*path, name)
        if isinstance(named, graphql.GraphQLInputObjectType):
            cases += _cases(named, here)
        elif named.name in STRINGS:
            cases.append(Case(here, [NUL] if listed else NUL, one_of))
        elif named.name == "JSON":  # a JSON object's values and keys both
            cases += [Case(here, {"KEY": NUL}, one_of), Case(here, {NUL: "value"}, one_of)]
    return cases


def _mutation_cases() -> list[tuple[str, Case]]:
    assert SDL.mutation_type is not None
    cases = []
    for field_name, field in sorted(SDL.mutation_type.fields.items()):
        input_type = graphql.get_named_type(field.args["input"].type)
        assert isinstance(input_type, graphql.GraphQLInputObjectType)
        cases += [(field_name, case) for case in _cases(input_type)]
    return cases


MUTATION_CASES = _mutation_cases()


def _with(variables: dict[str, Any], case: Case) -> dict[str, Any]:
    """The input with the case's value put at its path (a @oneOf object holds only it)."""
    target = variables
    for name in case.path[:-1]:
        target[name] = {} if case.one_of or not isinstance(target.get(name), dict) else dict(target[name])
        target = target[name]
    target[case.path[-1]] = case.value
    return variables


@pytest.mark.parametrize(
    ("field", "case"), MUTATION_CASES, ids=[f"{f}.{'.'.join(c.path)}-{i}" for i, (f, c) in enumerate(MUTATION_CASES)]
)
async def test_bad_text_in_any_mutation_input_is_a_user_error_that_changes_nothing(
    client: httpx.AsyncClient, settings: Any, field: str, case: Case
) -> None:
    # given the world, and the input of a call the owner may make, with NUL put at one string of it
    world = await build_world()
    world.repo_root = settings.repo_dir
    variables = {"input": _with(await MUTATIONS[field].input(world, PERSONAL, "owner"), case)}
    before = await snapshot()

    # when the owner sends it
    response = await post(client, world, "owner", mutation_document(field), variables)

    # then it is one user error on that input field, naming the NUL, and nothing changed
    body = response.json()
    assert await snapshot() == before
    if GLOBAL_ID_REFUSAL in str(body.get("errors")):
        return  # an input typed as a global ID is refused as one before any resolver runs: a clear error too
    assert response.status_code == 200
    assert not body.get("errors"), body
    [error] = body["data"][field]["userErrors"]
    code = "INVALID_CONFIG_VAR" if case.path == ("vars",) else "INVALID"
    assert (error["field"], error["code"]) == (case.path[0], code), error
    assert "NUL" in error["message"], error
    assert ".".join(case.path) in error["message"], error


async def test_a_lone_surrogate_is_refused_like_a_nul(client: httpx.AsyncClient, settings: Any) -> None:
    # given the world
    world = await build_world()
    before = await snapshot()

    # when a user is named with a lone surrogate (valid JSON, but no UTF-8 text can hold it)
    variables = {"input": {"team": "crew", "user": "\ud800@example.com"}}
    body = json.dumps({"query": mutation_document("removeTeamMember"), "variables": variables})
    response = await client.post(
        "/graphql",
        content=body.encode(),
        headers={**world.actors["team-admin"].headers, "Content-Type": "application/json"},
    )

    # then it is a user error on `user`, and nothing changed
    assert response.json()["data"]["removeTeamMember"]["userErrors"] == [
        {"field": "user", "message": "user must be valid Unicode text (it holds a lone surrogate)", "code": "INVALID"}
    ]
    assert await snapshot() == before


# --- every other field's string arguments --------------------------------------------------------------------------

# How a query reaches an object of each type that has fields with string arguments (in the world, as the owner).
REACH = {
    "Query": "{}",
    "App": 'app(name: "p-dev") { {} }',
    "Pipeline": 'pipeline(name: "p-line") { {} }',
    "User": "viewer { {} }",
}


def _argument_cases(type_names: list[str]) -> list[tuple[str, str, str]]:
    """(type, field, argument) for every String or ID argument of a field of these types."""
    cases = []
    for type_name in sorted(type_names):
        type_ = SDL.type_map[type_name]
        assert isinstance(type_, graphql.GraphQLObjectType)
        for field_name, field in type_.fields.items():
            for argument_name, argument in field.args.items():
                if graphql.get_named_type(argument.type).name in STRINGS:
                    cases.append((type_name, field_name, argument_name))
    return cases


# Every object type a query reads: all but the mutation and subscription roots (and introspection's own).
QUERY_CASES = _argument_cases(
    [
        name
        for name, type_ in SDL.type_map.items()
        if isinstance(type_, graphql.GraphQLObjectType)
        and not name.startswith("__")
        and name not in ("Mutation", "Subscription")
    ]
)


def _document(type_name: str, field_name: str, argument_name: str, literal: bool) -> tuple[str, dict[str, Any]]:
    type_ = SDL.type_map[type_name]
    assert isinstance(type_, graphql.GraphQLObjectType)
    field = type_.fields[field_name]
    argument = field.args[argument_name]
    selection = "" if graphql.is_leaf_type(graphql.get_named_type(field.type)) else " { __typename }"
    if literal:
        call = f"{field_name}({argument_name}: {json.dumps(NUL)}){selection}"
        return "query { " + REACH[type_name].replace("{}", call) + " }", {}
    call = f"{field_name}({argument_name}: $value){selection}"
    body = REACH[type_name].replace("{}", call)
    return f"query($value: {argument.type}) {{ {body} }}", {"value": NUL}


@pytest.mark.parametrize("literal", [False, True], ids=["variable", "literal"])
@pytest.mark.parametrize(("type_name", "field", "argument"), QUERY_CASES)
async def test_bad_text_in_any_query_argument_is_a_clear_error(
    client: httpx.AsyncClient, settings: Any, type_name: str, field: str, argument: str, literal: bool
) -> None:
    assert type_name in REACH, f"say in REACH how a query gets to a {type_name}"
    # given the world
    world: World = await build_world()

    # when the owner sends NUL in that argument, as a variable or in the document
    document, variables = _document(type_name, field, argument, literal)
    response = await post(client, world, "owner", document, variables)

    # then one error names the argument and what is wrong, and nothing ran
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None, body
    assert [error["message"] for error in body["errors"]] == [f"argument {argument} must not contain a NUL character"]


async def test_a_nul_in_a_mutation_payloads_nested_argument_is_refused_before_the_mutation_runs(
    client: httpx.AsyncClient, settings: Any
) -> None:
    # given the world
    world = await build_world()
    before = await snapshot()

    # when a mutation that would succeed asks for a page of its result with a NUL cursor
    document = """mutation($after: String) {
      setConfigVars(input: {app: "p-dev", vars: {B: "2"}}) {
        app { releases(after: $after) { pageInfo { hasNextPage } } }
      }
    }"""
    response = await post(client, world, "owner", document, {"after": NUL})

    # then the request is refused as a whole, and the mutation did not run
    body = response.json()
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == ["argument after must not contain a NUL character"]
    assert await snapshot() == before


SUBSCRIPTION_CASES = _argument_cases(["Subscription"])


@pytest.mark.parametrize(("type_name", "field", "argument"), SUBSCRIPTION_CASES)
async def test_bad_text_in_a_subscription_argument_is_a_clear_error(
    live_server: str, type_name: str, field: str, argument: str
) -> None:
    from tests.support.ws_client import TRANSPORT_WS, SubscriptionError, subscribe

    # given the world
    world = await build_world()
    assert SDL.subscription_type is not None
    argument_type = SDL.subscription_type.fields[field].args[argument].type
    document = f"subscription($value: {argument_type}) {{ {field}({argument}: $value) {{ __typename }} }}"

    # when the owner subscribes with NUL in that argument
    init = {"Authorization": f"Bearer {world.actors['owner'].token}"}
    with pytest.raises(SubscriptionError) as refused:
        async for _ in subscribe(live_server, document, {"value": NUL}, protocol=TRANSPORT_WS, init_payload=init):
            pass

    # then it is refused, naming the argument
    assert refused.value.args[0][0]["message"] == f"argument {argument} must not contain a NUL character"
