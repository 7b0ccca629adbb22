"""The viewer's roles and grants are read once per request, however many resolvers ask for them at once."""

from __future__ import annotations

import asyncio

from pipegraph.access.policy import Access
from pipegraph.apps.models import App
from tests.support.clients import Actor
from tests.support.sql import StatementCounter


async def test_concurrent_questions_load_the_viewers_rights_once(
    viewer: Actor, sql_statements: StatementCounter
) -> None:
    # given an app of the viewer's, and a fresh Access as each request has
    app = await App.create(name="shop", owner=viewer.user, stack="heroku-24", config_vars={})
    access = Access(viewer.user)
    sql_statements.statements.clear()

    # when sibling resolvers ask at the same moment
    answers = await asyncio.gather(*(access.can_view_app(app) for _ in range(5)))

    # then all are answered from one read of the memberships and one of the grants
    assert answers == [True] * 5
    tables = [statement.split(" FROM ")[1].split()[0].strip('"') for statement in sql_statements.statements]
    assert sorted(tables) == ["app_collaborators", "team_memberships"], sql_statements.statements
