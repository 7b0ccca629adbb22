"""The test harness itself: the tables it empties between tests (and the authorization matrix snapshots) are read from
the models, so a new table can never escape "a refusal changed nothing"."""

from __future__ import annotations

from tortoise.connection import connections

from pipegraph.settings import Settings
from tests.support.database import is_postgres, tables_child_first

LIST_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgres": "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
}


async def test_every_table_the_migrations_create_is_reset_and_snapshotted(settings: Settings) -> None:
    # given the tables the committed migrations built
    conn = connections.get("default")
    rows = await conn.execute_query_dict(LIST_TABLES["postgres" if is_postgres() else "sqlite"])
    built = {row["name"] for row in rows}

    # when the harness lists the tables it empties
    listed = set(tables_child_first())

    # then it lists all of them, tortoise's own record of applied migrations aside
    assert built - listed == {name for name in built if "migration" in name}
    assert listed <= built


def test_tables_come_child_first(settings: Settings) -> None:
    order = tables_child_first()

    # a table comes before every table it refers to, so deleting in this order breaks no foreign key
    assert order.index("app_collaborators") < order.index("apps") < order.index("teams")
    assert order.index("promotion_targets") < order.index("promotions") < order.index("pipelines")
    assert order.index("api_tokens") < order.index("users")
