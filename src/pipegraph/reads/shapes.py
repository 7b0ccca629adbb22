"""The tables of the compiled reads: per GraphQL type, where each field's value comes from.

A leaf names its column and how the driver's value becomes what strawberry would answer (the strawberry types in each
domain's `types.py` stay the specification; tests/test_compiled_reads.py holds the two paths equal). A relation is a
`Join` (to-one, read in the parent's statement), a `Page` (a keyset connection, all parents' pages in one windowed
statement) or a `Listed` (a plain list of the newest children, read the same way). A field missing here is not
compiled: the node is built as its type's strawberry `source` object (from its whole row, but for the `lazy` columns
that only compiled leaves read) and the resolvers answer the missing fields on it. Every table has a source, so an
unusual field costs its own resolver, never the whole root field. A table that names who `seen` it is compiled as the
root `node(id:)` too.

To compile one more column of a type: add a leaf to its table below. Nothing else changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strawberry.relay import to_base64
from tortoise.models import Model

from pipegraph.access.policy import Access
from pipegraph.access.rights import Rights
from pipegraph.access.rules import Permission, PipelineRight
from pipegraph.access.users import seen_users
from pipegraph.accounts.models import User
from pipegraph.accounts.types import UserType
from pipegraph.api.nodes import Keyset
from pipegraph.apps.models import App
from pipegraph.apps.types import RELEASES, AppType
from pipegraph.core.dates import parsed_if_stored
from pipegraph.pipelines.models import Pipeline, Stage
from pipegraph.pipelines.types import MAX_LISTED, PipelineType
from pipegraph.releases.models import Release
from pipegraph.releases.types import ReleaseType
from pipegraph.reviewapps.models import ReviewApp, ReviewAppStatus
from pipegraph.reviewapps.types import ReviewAppType
from pipegraph.slugs.models import Slug
from pipegraph.slugs.types import SlugType
from pipegraph.teams.models import Team
from pipegraph.teams.types import TeamType

GRAPHQL_INT_MAX = 2**31 - 1


class Unsupported(Exception):
    """This selection or value is not compiled: the resolvers answer instead (they are the specification)."""


@dataclass(frozen=True)
class Leaf:
    column: str
    serialize: Callable[[Any], Any]  # the driver's value (SQLite text, asyncpg objects) → the response's value


def _python(model: type[Model], column: str) -> Callable[[Any], Any]:
    """The ORM's own conversion from the driver's value, so both dialects read as the models do."""
    return model._meta.fields_map[column].to_python_value


def text(model: type[Model], column: str) -> Leaf:
    _python(model, column)  # a column of the model, checked when the table is declared
    return Leaf(column, same)  # both drivers answer text as str


def flag(model: type[Model], column: str) -> Leaf:
    _python(model, column)
    return Leaf(column, bool)  # SQLite answers 0/1


def integer(model: type[Model], column: str) -> Leaf:
    _python(model, column)
    return Leaf(column, graphql_int)


def same(value: Any) -> Any:
    return value


def graphql_int(value: Any) -> Any:
    if value is not None and not -GRAPHQL_INT_MAX - 1 <= value <= GRAPHQL_INT_MAX:
        raise Unsupported("an Int out of range: the resolvers report the error")
    return value


def timestamp(model: type[Model], column: str) -> Leaf:
    to_python = _python(model, column)

    def serialize(value: Any) -> Any:
        moment = to_python(parsed_if_stored(value))  # SQLite's text by the C parser (core/dates.py)
        return None if moment is None else moment.isoformat()  # strawberry's DateTime

    return Leaf(column, serialize)


def enum(model: type[Model], column: str) -> Leaf:
    to_python = _python(model, column)
    # By stored value, the member's name (strawberry answers an enum by it): the ORM's conversion once per value, not
    # once per row. Only the enum's own values are kept (any other raises, as the ORM does), so it stays that small.
    names: dict[Any, str] = {}

    def serialize(value: Any) -> str:
        name = names.get(value)
        if name is None:
            name = names[value] = to_python(value).name
        return name

    return Leaf(column, serialize)


def json(model: type[Model], column: str) -> Leaf:
    to_python = _python(model, column)
    return Leaf(column, lambda value: dict(to_python(value)))


def global_id(type_name: str) -> Leaf:
    return Leaf("id", lambda value: to_base64(type_name, value))


@dataclass(frozen=True)
class Join:
    """A to-one relation read in its parent's statement: the child whose `child_column` is the parent's
    `parent_column` (and, if named, whose boolean column `only_if` is true)."""

    target: str
    parent_column: str
    child_column: str
    only_if: str = ""
    seen: Callable[[Rights, Any], bool] | None = None  # the resolvers' rule: an unseen child is null

    def on(self, parent: str, child: str) -> str:
        on = f'{child}."{self.child_column}" = {parent}."{self.parent_column}"'
        return f'{on} AND {child}."{self.only_if}"' if self.only_if else on


@dataclass(frozen=True)
class Either:
    """A union read by two joins: the `team` row when the parent has a team, else the `user` row (Owner)."""

    team: Join
    user: Join


@dataclass(frozen=True)
class Rule:
    """A leaf the viewer's rights decide, from the row's columns: the resolvers' own rule functions."""

    columns: tuple[str, ...]
    value: Callable[[Any, Rights], Any]


@dataclass(frozen=True)
class Page:
    """A newest-first keyset connection of children: `parent` is their column naming the parent, `order` the one the
    cursor holds (the resolvers' Keyset, so that cursors and their errors are the same)."""

    target: str
    parent: str
    order: str
    keyset: Keyset[int]


# Where a row read for `node(id:)` keeps the row it is seen through (a release's app): no field's name has a dot.
THROUGH = "seen.through"


@dataclass(frozen=True)
class Seen:
    """Who sees a row as `node(id:)`: the resolvers' own rule (`rule(access, row)`), over the row and, if `through`
    names a to-one join, the row it joins, kept under THROUGH."""

    rule: Callable[[Access, Any], Awaitable[bool]]
    through: Join | None = None


@dataclass(frozen=True)
class Listed:
    """A to-many relation answered as a plain list, not a connection: each parent's newest `limit` children by `order`
    (the resolvers' page loader, without a cursor). Rows whose column `hide[0]` holds `hide[1]` are left out, unless
    the field's boolean argument `unless` is true."""

    target: str
    parent: str
    order: str
    limit: int
    hide: tuple[str, Any] | None = None
    unless: str = ""


# A list is read as a page that has no cursor.
UNPAGED: Keyset[int] = Keyset.by_number("unpaged")


@dataclass(frozen=True)
class Table:
    type_name: str
    model: type[Model]
    keys: tuple[str, ...]  # read whatever is asked: the rules and the relations need them
    leaves: Mapping[str, Leaf]
    joins: Mapping[str, Join] = field(default_factory=dict)
    pages: Mapping[str, Page] = field(default_factory=dict)
    lists: Mapping[str, Listed] = field(default_factory=dict)
    unions: Mapping[str, Either] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    # The strawberry object of a model, on which the resolvers answer the fields not compiled (None: no such mixing).
    source: Callable[[Any], Any] | None = None
    # Columns left out of the source's ORM object: only compiled leaves read them (a release's log can be big).
    lazy: frozenset[str] = frozenset()
    # Who sees a row as `node(id:)` (None: `node` of this type is not compiled here).
    seen: Seen | None = None

    @property
    def name(self) -> str:
        return str(self.model._meta.db_table)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the model but the lazy ones: what building its ORM object from a row needs."""
        return tuple(column for column in self.model._meta.fields_db_projection.values() if column not in self.lazy)

    def model_of(self, row: Mapping[str, Any]) -> Any:
        """The ORM object of a row read with every column (a partial one without the lazy columns): the ORM's own
        conversion, as a loader's row."""
        return self.model._init_from_db(**{column: row[column] for column in self.columns})

    def instance(self, row: Mapping[str, Any]) -> Any:
        """The strawberry object of a row read with every column."""
        assert self.source is not None
        return self.source(self.model_of(row))


OWNER = Either(team=Join("Team", parent_column="team_id", child_column="id"), user=Join("User", "owner_id", "id"))


def _viewer_rights(pipeline: Any, rights: Rights) -> list[str]:
    held = rights.pipeline_rights(pipeline, pipeline["apps"])  # every app of the pipeline, as the resolver
    return [right.name for right in PipelineRight if right in held]


def _viewer_permissions(app: Any, rights: Rights) -> list[str]:
    held = rights.app_permissions(app)
    return [permission.name for permission in Permission if permission in held]  # in Heroku's order


async def _app_seen(access: Access, row: Any) -> bool:
    """A release or a slug: seen by whoever sees its app (as seen_through_their_app, over the joined app row)."""
    app = row[THROUGH]
    return app is not None and await access.can_view_app(app)


async def _user_seen(access: Access, row: Any) -> bool:
    return row["id"] in await seen_users(access, [row["id"]])


async def _team_seen(access: Access, row: Any) -> bool:
    return (await access.rights()).in_team(row["id"])


SEEN_THROUGH_APP = Seen(_app_seen, through=Join("App", parent_column="app_id", child_column="id"))

PIPELINE = Table(
    "Pipeline",
    Pipeline,
    keys=("id", "name", "owner_id", "team_id"),
    leaves={
        "id": global_id("Pipeline"),
        "name": text(Pipeline, "name"),
        "createdAt": timestamp(Pipeline, "created_at"),
        "updatedAt": timestamp(Pipeline, "updated_at"),
        "scheduledDeletionAt": timestamp(Pipeline, "delete_at"),
    },
    unions={"owner": OWNER},
    rules={"viewerRights": Rule((), _viewer_rights)},
    lists={
        "reviewApps": Listed(
            "ReviewApp",
            parent="pipeline_id",
            order="pr_number",
            limit=MAX_LISTED,
            hide=("status", ReviewAppStatus.DELETED.value),
            unless="deleted",
        ),
    },
    source=PipelineType.from_model,
)

APP = Table(
    "App",
    App,
    # What Rights.app_permissions reads, and the name the stages sort by.
    keys=("id", "name", "owner_id", "team_id", "ephemeral"),
    leaves={
        "id": global_id("App"),
        "name": text(App, "name"),
        "stack": text(App, "stack"),
        "ephemeral": flag(App, "ephemeral"),
        "createdAt": timestamp(App, "created_at"),
        "updatedAt": timestamp(App, "updated_at"),
        "configVars": json(App, "config_vars"),
    },
    joins={"currentRelease": Join("Release", parent_column="id", child_column="app_id", only_if="is_current")},
    pages={"releases": Page("Release", parent="app_id", order="version", keyset=RELEASES)},
    unions={"owner": OWNER},
    rules={"viewerPermissions": Rule((), _viewer_permissions)},
    source=AppType.from_model,
)

RELEASE = Table(
    "Release",
    Release,
    keys=("id",),
    leaves={
        "id": global_id("Release"),
        "version": integer(Release, "version"),
        "status": enum(Release, "status"),
        "current": flag(Release, "is_current"),
        "description": text(Release, "description"),
        "errorMessage": text(Release, "error_message"),
        "createdAt": timestamp(Release, "created_at"),
        "updatedAt": timestamp(Release, "updated_at"),
        "log": text(Release, "release_log"),
    },
    joins={
        "slug": Join("Slug", parent_column="slug_id", child_column="id"),
        "createdBy": Join("User", parent_column="created_by_id", child_column="id"),
        "app": Join("App", parent_column="app_id", child_column="id"),  # seen: the release is seen through it
    },
    source=ReleaseType.from_model,
    lazy=frozenset({"release_log"}),  # `log` is a leaf: ReleaseType's resolvers read no other use of it
    seen=SEEN_THROUGH_APP,
)

SLUG = Table(
    "Slug",
    Slug,
    keys=("id",),
    leaves={
        "id": global_id("Slug"),
        "checksum": text(Slug, "checksum"),
        "size": integer(Slug, "size"),
        "stack": text(Slug, "stack"),
        "commit": text(Slug, "commit"),
        "commitDescription": text(Slug, "commit_description"),
        "uploaded": Leaf("uploaded_at", lambda value: value is not None),
        "createdAt": timestamp(Slug, "created_at"),
        "processTypes": json(Slug, "process_types"),
    },
    source=SlugType.from_model,
    seen=SEEN_THROUGH_APP,
)

USER = Table(
    "User",
    User,
    keys=("id",),
    leaves={
        "id": global_id("User"),
        "email": text(User, "email"),
        "name": text(User, "name"),
        "createdAt": timestamp(User, "created_at"),
    },
    source=UserType.from_model,
    seen=Seen(_user_seen),
)

TEAM = Table(
    "Team",
    Team,
    keys=("id",),
    leaves={
        "id": global_id("Team"),
        "name": text(Team, "name"),
        "kind": enum(Team, "kind"),
        "createdAt": timestamp(Team, "created_at"),
    },
    source=TeamType.from_model,
    seen=Seen(_team_seen),
)

REVIEW_APP = Table(
    "ReviewApp",
    ReviewApp,
    keys=("id",),
    leaves={
        "id": global_id("ReviewApp"),
        "prNumber": integer(ReviewApp, "pr_number"),
        "branch": text(ReviewApp, "branch"),
        "headSha": text(ReviewApp, "head_sha"),
        "fork": flag(ReviewApp, "fork"),
        "appName": text(ReviewApp, "app_name"),
        "status": enum(ReviewApp, "status"),
        "message": text(ReviewApp, "message"),
        "createdAt": timestamp(ReviewApp, "created_at"),
        "updatedAt": timestamp(ReviewApp, "updated_at"),
    },
    # As visible_app: the app while it has one, if the viewer sees it.
    joins={"app": Join("App", parent_column="app_id", child_column="id", seen=Rights.can_view_app)},
    source=ReviewAppType.from_model,
)

TABLES = {table.type_name: table for table in (PIPELINE, APP, RELEASE, SLUG, USER, TEAM, REVIEW_APP)}


def stage_name(value: Any) -> str:
    """A coupling's stage as strawberry answers the Stage enum."""
    return Stage(value).name
