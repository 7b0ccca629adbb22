"""Artifacts that must follow the code: the exported GraphQL schema, and the committed migrations."""

from __future__ import annotations

import re
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from pipegraph.db import tortoise_config
from pipegraph.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    # given the SDL the code builds, and the one committed for clients
    expected = schema.as_str() + "\n"
    committed = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""

    # then they are the same
    assert committed == expected, (
        "schema.graphql is out of date with the code: regenerate it with "
        "`make schema` (or `.venv/bin/pipegraph export-schema -o schema.graphql`) and commit it"
    )


def without_descriptions(sdl: str) -> str:
    """The SDL as clients code against it, on one line: descriptions print arguments one per line, and name nothing."""
    sdl = re.sub(r'"""[\s\S]*?"""', " ", sdl)
    sdl = re.sub(r"\s+", " ", sdl)
    return re.sub(r"\s*\)", ")", re.sub(r"\(\s*", "(", sdl))


def test_schema_keeps_the_contract_names() -> None:
    # given the schema
    sdl = without_descriptions(schema.as_str())

    # then the names DESIGN.md promises to clients are there
    for name in [
        "viewer: User!",
        "node(",
        "pipeline(",
        "pipelines(",
        "app(name: String!): App",
        "apps(",
        "createApp(input: CreateAppInput!)",
        "setConfigVars(",
        "createSlug(",
        "createRelease(",
        "createPipeline(",
        "renamePipeline(",
        "destroyPipeline(",
        "addAppToPipeline(",
        "removeAppFromPipeline(",
        "moveAppToStage(",
        "interface Node",
        "type PageInfo",
    ]:
        assert name in sdl, f"{name!r} is missing from the schema"


async def test_models_match_the_committed_migrations(database: str) -> None:
    # given the models as the running code declares them, and the state the committed migrations build
    apps_config = tortoise_config(database)["apps"]
    detector = MigrationAutodetector(Tortoise.apps, apps_config)

    # when tortoise's autodetector compares them (what `makemigrations` does, without writing anything)
    writers = await detector.changes()

    # then it finds nothing to migrate
    pending = {writer.name: [operation.describe() for operation in writer.operations] for writer in writers}
    assert pending == {}, (
        f"models changed without a migration: {pending}; run `make migrations` and commit the new file "
        "under src/pipegraph/migrations/"
    )
