"""Apps: createApp under Heroku's name rule, config vars all or nothing, look-ups and the `apps` connection."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.clients import Actor, GraphQLClient, make_actor
from tests.support.factories import CREATE_APP, add_app, create_app, create_pipeline

APP_BY_NAME = """
query($name: String!) {
  app(name: $name) { id name stack configVars owner { ... on User { email } } pipeline { name } stage }
}"""

SET_CONFIG_VARS = """
mutation($input: SetConfigVarsInput!) {
  setConfigVars(input: $input) { app { name configVars } userErrors { field message code } }
}"""

APPS = """
query($first: Int, $after: String, $inPipeline: Boolean) {
  apps(first: $first, after: $after, inPipeline: $inPipeline) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def config_vars_of(gql: GraphQLClient, name: str) -> dict[str, Any]:
    data = await gql(APP_BY_NAME, {"name": name})
    vars_: dict[str, Any] = data["app"]["configVars"]
    return vars_


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


@pytest.mark.parametrize("name", ["abc", "shop-staging", "a1-2-3", "a" * 30, "x--y"])
async def test_create_app_accepts_heroku_names(gql: GraphQLClient, viewer: Actor, name: str) -> None:
    # given a valid name and no stack
    # when the app is created
    data = await gql(CREATE_APP, {"input": {"name": name}})

    # then it exists with the default stack, owned by the viewer
    assert data["createApp"]["userErrors"] == []
    assert data["createApp"]["app"]["name"] == name
    app = (await gql(APP_BY_NAME, {"name": name}))["app"]
    assert app["stack"] == "heroku-24"
    assert app["owner"] == {"email": viewer.user.email}
    assert app["configVars"] == {}
    assert app["pipeline"] is None
    assert app["stage"] is None


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 31, "Shop", "1shop", "-shop", "shop_app", "shop.app", "shop app", "shöp", "shop\n", ""],
)
async def test_create_app_refuses_names_outside_herokus_rule(gql: GraphQLClient, name: str) -> None:
    # given a name that breaks ^[a-z][a-z0-9-]{2,29}$
    # when an app is created with it
    data = await gql(CREATE_APP, {"input": {"name": name}})

    # then it is refused on the name field, and no app exists
    assert data["createApp"]["app"] is None
    [error] = data["createApp"]["userErrors"]
    assert error["code"] == "INVALID_NAME"
    assert error["field"] == "name"
    assert "lowercase" in error["message"]
    apps = await gql(APPS)
    assert names(apps["apps"]) == []


async def test_create_app_with_explicit_stack(gql: GraphQLClient) -> None:
    # when an app is created on another stack
    data = await gql(CREATE_APP, {"input": {"name": "legacy", "stack": "heroku-22"}})

    # then that stack is kept
    assert data["createApp"]["app"]["stack"] == "heroku-22"


@pytest.mark.parametrize("stack", ["Heroku-24", "", "heroku 24", "h", "x" * 41])
async def test_create_app_refuses_a_bad_stack(gql: GraphQLClient, stack: str) -> None:
    # when an app is created with a malformed stack
    data = await gql(CREATE_APP, {"input": {"name": "shop", "stack": stack}})

    # then it is refused and nothing is created
    [error] = data["createApp"]["userErrors"]
    assert error["code"] == "INVALID_STACK"
    assert error["field"] == "stack"
    assert (await gql(APP_BY_NAME, {"name": "shop"}))["app"] is None


async def test_create_app_refuses_a_taken_name(gql: GraphQLClient, client: httpx.AsyncClient) -> None:
    # given an app named shop, owned by someone else
    other = GraphQLClient(client, await make_actor("grace@example.com"))
    await create_app(other, name="shop")

    # when the viewer creates an app with the same name
    data = await gql(CREATE_APP, {"input": {"name": "shop"}})

    # then it is refused and the original app is unchanged
    assert data["createApp"]["app"] is None
    assert data["createApp"]["userErrors"] == [
        {"field": "name", "message": "app name 'shop' is already taken", "code": "NAME_TAKEN"}
    ]
    app = (await other(APP_BY_NAME, {"name": "shop"}))["app"]
    assert app["owner"] == {"email": "grace@example.com"}


async def test_set_config_vars_sets_and_null_unsets(gql: GraphQLClient) -> None:
    # given an app with two vars
    await create_app(gql, name="shop")
    first = await gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": {"LOG_LEVEL": "info", "OLD": "1"}}})
    assert first["setConfigVars"]["app"]["configVars"] == {"LOG_LEVEL": "info", "OLD": "1"}

    # when one is changed, one unset with null, one added (and an unknown one unset)
    data = await gql(
        SET_CONFIG_VARS,
        {"input": {"app": "shop", "vars": {"LOG_LEVEL": "debug", "OLD": None, "NEW": "", "NEVER_SET": None}}},
    )

    # then the payload and a later read both show the merge
    assert data["setConfigVars"]["userErrors"] == []
    expected = {"LOG_LEVEL": "debug", "NEW": ""}
    assert data["setConfigVars"]["app"]["configVars"] == expected
    assert await config_vars_of(gql, "shop") == expected


async def test_set_config_vars_by_global_id(gql: GraphQLClient) -> None:
    # given an app referenced by its global ID
    app = await create_app(gql, name="shop")

    # when its vars are set through the ID
    data = await gql(SET_CONFIG_VARS, {"input": {"app": app["id"], "vars": {"A": "1"}}})

    # then the app behind the ID changed
    assert data["setConfigVars"]["userErrors"] == []
    assert await config_vars_of(gql, "shop") == {"A": "1"}


@pytest.mark.parametrize(
    ("vars_", "needle"),
    [
        ({"GOOD": "x", "1BAD": "y"}, "'1BAD'"),
        ({"GOOD": "x", "BAD-DASH": "y"}, "'BAD-DASH'"),
        ({"GOOD": "x", "NUMBER": 3}, "string or null"),
        ({"GOOD": "x", "NESTED": {"a": "b"}}, "string or null"),
        ({"GOOD": "x", "FLAG": True}, "string or null"),
        ({"GOOD": "x", "": "y"}, "''"),
    ],
)
async def test_set_config_vars_is_all_or_nothing(gql: GraphQLClient, vars_: dict[str, Any], needle: str) -> None:
    # given an app with one var
    await create_app(gql, name="shop")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": {"KEEP": "me"}}})

    # when a batch with one good and one bad var is sent
    data = await gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": vars_}})

    # then the whole batch is refused, naming the bad var, and nothing changed
    assert data["setConfigVars"]["app"] is None
    [error] = data["setConfigVars"]["userErrors"]
    assert error["code"] == "INVALID_CONFIG_VAR"
    assert error["field"] == "vars"
    assert needle in error["message"]
    assert await config_vars_of(gql, "shop") == {"KEEP": "me"}


@pytest.mark.parametrize("vars_", [["A", "B"], "A=1", 3])
async def test_set_config_vars_needs_an_object(gql: GraphQLClient, vars_: Any) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when vars is not an object
    data = await gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": vars_}})

    # then it is refused plainly
    [error] = data["setConfigVars"]["userErrors"]
    assert error == {
        "field": "vars",
        "message": "vars must be an object of name to value",
        "code": "INVALID_CONFIG_VAR",
    }
    assert await config_vars_of(gql, "shop") == {}


async def test_set_config_vars_null_is_a_clear_request_error(gql: GraphQLClient) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when vars is null (it is a required field)
    body = await gql.raw(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": None}})

    # then the request is refused with graphql's own message, not masked as an internal error
    [error] = body["errors"]
    assert "vars" in error["message"]
    assert "not to be None" in error["message"]
    assert await config_vars_of(gql, "shop") == {}


async def test_set_config_vars_of_an_unknown_app(gql: GraphQLClient) -> None:
    # when vars are set on an app that does not exist
    data = await gql(SET_CONFIG_VARS, {"input": {"app": "nope", "vars": {"A": "1"}}})

    # then it is a NOT_FOUND user error on the app field
    assert data["setConfigVars"]["userErrors"] == [
        {"field": "app", "message": "app nope not found", "code": "NOT_FOUND"}
    ]


async def test_app_by_name_unknown_is_null(gql: GraphQLClient) -> None:
    # when an unknown app is asked for
    data = await gql(APP_BY_NAME, {"name": "ghost"})

    # then it is null, not an error
    assert data == {"app": None}


async def test_apps_keyset_pagination(gql: GraphQLClient) -> None:
    # given five apps created out of name order
    for name in ["echo", "alpha", "delta", "bravo", "charlie"]:
        await create_app(gql, name=name)

    # when they are paged two at a time
    first = (await gql(APPS, {"first": 2}))["apps"]
    second = (await gql(APPS, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["apps"]
    third = (await gql(APPS, {"first": 2, "after": second["pageInfo"]["endCursor"]}))["apps"]

    # then the pages follow name order, without overlap, and say where they are
    assert names(first) == ["alpha", "bravo"]
    assert names(second) == ["charlie", "delta"]
    assert names(third) == ["echo"]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": first["edges"][0]["cursor"],
        "endCursor": first["edges"][1]["cursor"],
    }
    assert second["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert third["pageInfo"]["hasNextPage"] is False


async def test_apps_cursor_is_stable_when_rows_are_added_before_it(gql: GraphQLClient) -> None:
    # given a first page of apps
    for name in ["bravo", "charlie", "delta"]:
        await create_app(gql, name=name)
    first = (await gql(APPS, {"first": 1}))["apps"]

    # when an app that sorts before the cursor is created, and the next page is read
    await create_app(gql, name="alpha")
    second = (await gql(APPS, {"first": 5, "after": first["pageInfo"]["endCursor"]}))["apps"]

    # then the next page continues after the cursor, neither repeating nor skipping
    assert names(first) == ["bravo"]
    assert names(second) == ["charlie", "delta"]


async def test_apps_filtered_by_pipeline_membership(gql: GraphQLClient) -> None:
    # given two apps in a pipeline and two loose ones
    for name in ["shop-dev", "shop-prod", "blog", "wiki"]:
        await create_app(gql, name=name)
    await create_pipeline(gql, name="shop", app="shop-dev")
    await add_app(gql, pipeline="shop", app="shop-prod", stage="production")

    # when apps are listed with and without the filter
    loose = (await gql(APPS, {"inPipeline": False}))["apps"]
    coupled = (await gql(APPS, {"inPipeline": True}))["apps"]
    every = (await gql(APPS, {}))["apps"]

    # then each list holds exactly its apps, by name
    assert names(loose) == ["blog", "wiki"]
    assert names(coupled) == ["shop-dev", "shop-prod"]
    assert names(every) == ["blog", "shop-dev", "shop-prod", "wiki"]


async def test_apps_loose_filter_pages_too(gql: GraphQLClient) -> None:
    # given loose apps around one coupled app
    for name in ["alpha", "bravo", "charlie", "delta"]:
        await create_app(gql, name=name)
    await create_pipeline(gql, name="pipe", app="bravo")

    # when loose apps are paged one at a time
    first = (await gql(APPS, {"first": 1, "inPipeline": False}))["apps"]
    second = (await gql(APPS, {"first": 1, "inPipeline": False, "after": first["pageInfo"]["endCursor"]}))["apps"]

    # then the coupled app is skipped
    assert names(first) == ["alpha"]
    assert names(second) == ["charlie"]


@pytest.mark.parametrize(
    ("value", "needle"),
    [("a\u0000b", "NUL"), ("x" * (32 * 1024 + 1), "longer than 32768")],
)
async def test_set_config_vars_refuses_values_no_environment_can_hold(
    gql: GraphQLClient, value: str, needle: str
) -> None:
    # given an app with one var
    await create_app(gql, name="shop")
    await gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": {"KEEP": "me"}}})

    # when a value with a NUL character, or one over 32 KiB, is set
    data = await gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": {"OK": "1", "BAD": value}}})

    # then the batch is refused, naming the var, and nothing changed
    [error] = data["setConfigVars"]["userErrors"]
    assert error["code"] == "INVALID_CONFIG_VAR"
    assert "BAD" in error["message"]
    assert needle in error["message"]
    assert await config_vars_of(gql, "shop") == {"KEEP": "me"}


async def test_concurrent_config_var_edits_all_survive(gql: GraphQLClient) -> None:
    # given an app
    await create_app(gql, name="shop")

    # when ten clients each set a different var at the same time
    await asyncio.gather(
        *(gql(SET_CONFIG_VARS, {"input": {"app": "shop", "vars": {f"VAR_{n}": str(n)}}}) for n in range(10))
    )

    # then no edit was lost
    assert await config_vars_of(gql, "shop") == {f"VAR_{n}": str(n) for n in range(10)}


async def test_concurrent_create_app_with_one_name_makes_one_app(gql: GraphQLClient) -> None:
    # when five clients race to create the same app
    results = await asyncio.gather(*(gql(CREATE_APP, {"input": {"name": "race"}}) for _ in range(5)))

    # then exactly one wins and the others are told the name is taken
    outcomes = sorted(
        "created" if result["createApp"]["app"] else result["createApp"]["userErrors"][0]["code"] for result in results
    )
    assert outcomes == ["NAME_TAKEN"] * 4 + ["created"]
