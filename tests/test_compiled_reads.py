"""The compiled reads (pipegraph.reads) answer exactly what the resolvers answer: the resolvers are the specification.

Every document of the corpus runs through both paths (the same server with `compiled_reads` on and off) for every
viewer profile of the authorization matrix, and the response bodies must be byte-identical: data, nulls, cursors and
errors. Documents with fields the compiler does not cover are in the corpus too: the resolvers answer those fields on
the compiled nodes (pipelines, apps, releases, slugs, users and teams all mix), with their own errors and nulls.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from strawberry import relay

from pipegraph.api.app import create_app
from pipegraph.apps.models import App
from pipegraph.core.relay import encode_cursor
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.reviewapps.models import ReviewApp, ReviewAppStatus
from pipegraph.settings import Settings
from pipegraph.slugs.models import Slug
from pipegraph.slugs.store import LocalSlugStore
from pipegraph.teams.models import Team
from pipegraph.testing.seed import LARGE, SMALL, GraphShape, seed_graph
from pipegraph.testing.web_operations import web_document
from tests.support.authz_world import CHECKSUM, PROFILES, SOLO_TEAM, World, build_world
from tests.support.clients import Actor, make_actor
from tests.support.database import truncate_all
from tests.support.sql import StatementCounter

APP_FIELDS = """
fragment AppFields on App {
  __typename id name stack ephemeral createdAt updatedAt
  currentRelease { ...ReleaseFields }
}
fragment ReleaseFields on Release {
  __typename id version status current description errorMessage createdAt updatedAt
  slug { __typename id checksum stack commit commitDescription uploaded createdAt processTypes }
}"""

EVERYTHING = (
    """
query Everything($name: String!) {
  pipeline(name: $name) {
    __typename id name createdAt updatedAt
    ... on Node { nodeId: id }
    stages { __typename name apps { ...AppFields } }
    everyApp: apps {
      name
      releases(first: 3) {
        __typename
        edges { __typename cursor node { ...ReleaseFields } }
        pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
}"""
    + APP_FIELDS
)

DASHBOARD = """
query Dashboard($name: String!) {
  pipeline(name: $name) {
    name
    stages { name apps { name stack currentRelease { version status slug { commit checksum processTypes } } } }
  }
}"""

BULK = """
query Bulk($first: Int, $after: String) {
  pipelines(first: $first, after: $after) {
    edges {
      cursor
      node {
        name
        stages {
          name
          apps { name currentRelease { version slug { commit } } releases(first: 10) { edges { node { version } } } }
        }
      }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

DIRECTIVES = """
query Directives($name: String!, $withApps: Boolean!, $noSlug: Boolean!) {
  pipeline(name: $name) {
    name @skip(if: $withApps)
    stages @include(if: $withApps) {
      name
      apps { name currentRelease { version slug @skip(if: $noSlug) { commit } } }
    }
    ...Later @include(if: $withApps)
  }
}
fragment Later on Pipeline { apps { a: name b: name } }"""

PAGES = """
query Pages($name: String!, $first: Int, $after: String) {
  pipeline(name: $name) {
    apps {
      name
      one: releases(first: 1) { edges { node { version } } pageInfo { hasNextPage endCursor } }
      page: releases(first: $first, after: $after) {
        edges { cursor node { version status } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
}"""

# The web dashboard's overview, read from web/src/dashboard/operations.ts.
OVERVIEW = web_document("PipelineOverview")

OWNERS = """
query Owners($first: Int) {
  pipelines(first: $first) {
    edges {
      node {
        owner { __typename ... on Node { id } ... on User { name createdAt } ... on Team { kind createdAt } }
        foreignApps { name owner { ... on User { email } } viewerPermissions }
        apps { currentRelease { createdBy { __typename name } } }
      }
    }
  }
}"""

LEAVES = "query($name: String!) { pipeline(name: $name) { scheduledDeletionAt apps { configVars } } }"
BY_ID = "query($id: ID!) { pipeline(id: $id) { id name apps { name } } }"
BOTH = 'query($id: ID!) { pipeline(name: "p-line", id: $id) { name } }'
NONE = "{ pipeline { name } }"
TIMESTAMPS = """
query($name: String!) {
  pipeline(name: $name) {
    createdAt updatedAt scheduledDeletionAt
    apps {
      createdAt updatedAt
      currentRelease { createdAt updatedAt slug { createdAt uploaded } }
      releases(first: 10) { edges { node { version createdAt updatedAt } } }
    }
  }
}"""
SIZE = "query($name: String!) { pipeline(name: $name) { apps { currentRelease { slug { size } } } } }"
# Once the whole root fell back to the resolvers for one field; now a mixed node.
NOT_COMPILED = "query($name: String!) { pipeline(name: $name) { name transfers { createdAt } apps { configVars } } }"
MIXED_ROOTS = """query($name: String!) {
  viewer { email } pipeline(name: $name) { name } apps(first: 5) { edges { node { name } } }
}"""

# Mixed nodes: fields the compiler does not cover, answered by the resolvers on the compiled pipeline and apps.
MIXED = """
query Mixed($name: String!, $withVars: Boolean!, $deleted: Boolean!) {
  pipeline(name: $name) {
    name
    when: scheduledDeletionAt
    ...Review
    transfers { createdAt }
    access @include(if: $withVars) { autoJoin autoJoinPermissions }
    stages {
      name
      apps {
        name
        configVars @include(if: $withVars)
        vars: configVars @skip(if: $withVars)
        collaborators { permissions user { email } }
        currentRelease { version }
        releases(first: 2) { edges { cursor node { version } } pageInfo { hasNextPage endCursor } }
      }
    }
    everyApp: apps { ... on App { name ephemeral stage pipeline { name } } }
  }
}
fragment Review on Pipeline { reviewApps(deleted: $deleted) { appName status app { name } } }"""

# An uncovered field that errors: its error, and the nulls it propagates (through non-null lists), are the resolvers'.
MIXED_ERRORS = """
query MixedErrors($name: String!, $first: Int) {
  pipeline(name: $name) {
    name
    stageConfigVars(stage: REVIEW)
    stages { name apps { name builds(first: $first) { edges { node { id } } } } }
  }
}"""

MIXED_NULLABLE_ERROR = """
query MixedNullable($name: String!, $first: Int) {
  pipeline(name: $name) {
    name
    promotions(first: $first) { edges { node { id } } }
  }
}"""

# The app roots and node, compiled like the pipeline roots (and mixing the same way).
APP = """
query App($name: String!) {
  app(name: $name) {
    __typename id name stack ephemeral createdAt updatedAt viewerPermissions
    owner { __typename ... on User { email } ... on Team { name kind } }
    currentRelease { ...ReleaseFields }
    releases(first: 2) { edges { cursor node { version status } } pageInfo { hasNextPage endCursor } }
  }
}
fragment ReleaseFields on Release { id version current createdBy { email } slug { commit size } }"""

APP_MIXED = """
query AppMixed($name: String!) {
  app(name: $name) {
    name
    configVars
    stage
    pipeline { name stages { name apps { name } } }
    collaborators { permissions user { email } }
    viewerPermissions
    first: releases(first: 1) { edges { node { version } } }
  }
}"""

APPS = """
query Apps($first: Int, $after: String, $inPipeline: Boolean) {
  apps(first: $first, after: $after, inPipeline: $inPipeline) {
    __typename
    edges { cursor node { __typename id name ephemeral viewerPermissions currentRelease { version } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

APPS_MIXED = "query { apps(first: 10) { edges { node { name stage } } } }"

# Connections asked only for their pageInfo: the cursors still need each row's key columns.
PAGE_INFO_ONLY = """
query { apps(first: 2) { pageInfo { startCursor endCursor } } pipelines(first: 1) { pageInfo { endCursor } } }"""

# A connection whose nodes are mixed: strawberry's own Connection, Edge and PageInfo, completed by graphql-core.
PIPELINES_MIXED = """
query PipelinesMixed($first: Int, $after: String) {
  pipelines(first: $first, after: $after) {
    __typename
    edges {
      __typename cursor
      node { name transfers { createdAt } stages { name apps { name pipeline { name } } } }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""

PIPELINES_MIXED_TWICE = """
query { pipelines { a: edges { node { name } } b: edges { node { transfers { createdAt } } } } }"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Pipeline { name viewerRights stages { name apps { name } } }
    ... on App { name stack viewerPermissions releases(first: 1) { edges { node { version } } } }
    ... on Release { version status log createdBy { email } slug { commit size } }
    ... on Slug { checksum commit size uploaded processTypes }
    ... on User { email name createdAt }
    ... on Team { name kind }
  }
}"""

NODE_MIXED = """
query NodeMixed($id: ID!) {
  node(id: $id) {
    id
    ... on Pipeline { name reviewApps { appName app { name } } }
    ... on App { name stage pipeline { name } }
    ... on Release { version app { name } sourceRelease { version app { name } } createdBy { teams { name } } }
    ... on User { email teams { name } apiTokens(first: 1) { edges { node { description } } } }
    ... on Team { name members { role user { email teams { name } } } }
  }
}"""

# Fields no table compiles, below a release, a user or a team (in to-one joins, unions and pages): those objects mix
# compiled fields with resolvers as pipelines and apps do, so the root field stays compiled.
RELEASE_MIXED = """
query ReleaseMixed($name: String!, $first: Int) {
  app(name: $name) {
    name
    currentRelease {
      version log
      app { name viewerPermissions releases(first: 1) { edges { node { version app { name } } } } }
      sourceRelease { version app { name } }
      createdBy { email teams { name } }
      slug { commit }
    }
    releases(first: $first) {
      edges { cursor node { version log sourceRelease { version } createdBy { name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

OWNERS_MIXED = """
query OwnersMixed($name: String!) {
  pipeline(name: $name) {
    name
    owner {
      __typename
      ... on User { email teams { name kind } }
      ... on Team { name members { role user { email } } }
    }
    stages {
      name
      apps {
        name
        owner { ... on Team { kind members { role } } ... on User { email } }
        currentRelease { version app { name } slug { commit } }
      }
    }
  }
}"""

# Review apps are compiled (a list read as one page statement for all pipelines, their apps joined, null when unseen):
# their app's pages, below a join, are left to the resolvers.
REVIEW_APPS = """
query ReviewApps($name: String!, $deleted: Boolean!) {
  pipeline(name: $name) {
    name
    reviewApps(deleted: $deleted) {
      __typename id prNumber branch headSha fork appName status message createdAt updatedAt
      app {
        id name viewerPermissions
        owner { ... on Team { name } }
        currentRelease { version }
        releases(first: 1) { edges { node { version } } }
      }
    }
    open: reviewApps { prNumber }
  }
}"""

REVIEW_APPS_MIXED = """
query ReviewAppsMixed {
  pipelines(first: 5) {
    edges {
      node {
        name
        reviewApps(deleted: true) { appName postdeployOutput predestroyOutput build { id } app { name stage } }
      }
    }
  }
}"""

# Errors of resolvers below mixed releases and users: located at their paths, nulls propagated through `App!`. One
# failing field of one object at a time: when several fail, the order of their errors (and whether a later one is still
# reported once an earlier one nulled their parent) follows the order their resolvers happened to finish in, and a
# compiled parent is there at once where the resolvers' waited for its DataLoader.
RELEASE_ERRORS = """
query ReleaseErrors($name: String!, $builds: Int, $tokens: Int) {
  app(name: $name) {
    name
    currentRelease {
      version
      app { name builds(first: $builds) { edges { node { id } } } }
      createdBy { email apiTokens(first: $tokens) { edges { node { description } } } }
    }
  }
}"""

# (name, document, variables); "<Type name>" stands for that object's global ID.
CORPUS: list[tuple[str, str, dict[str, Any]]] = [
    ("everything-personal", EVERYTHING, {"name": "p-line"}),
    ("everything-team", EVERYTHING, {"name": "t-line"}),
    ("dashboard", DASHBOARD, {"name": "t-line"}),
    ("web-overview-personal", OVERVIEW, {"name": "p-line"}),
    ("web-overview-team", OVERVIEW, {"name": "t-line"}),
    ("owners", OWNERS, {"first": 10}),
    ("bulk", BULK, {}),
    ("bulk-first-0", BULK, {"first": 0}),
    ("bulk-first-1", BULK, {"first": 1}),
    ("bulk-after", BULK, {"first": 1, "after": encode_cursor("pipeline", "p-line")}),
    ("bulk-first-101", BULK, {"first": 101}),
    ("bulk-bad-cursor", BULK, {"after": "not a cursor"}),
    ("bulk-cursor-of-another-list", BULK, {"after": encode_cursor("release", 3)}),
    ("directives-on", DIRECTIVES, {"name": "p-line", "withApps": True, "noSlug": False}),
    ("directives-off", DIRECTIVES, {"name": "p-line", "withApps": False, "noSlug": True}),
    ("directives-mixed", DIRECTIVES, {"name": "t-line", "withApps": True, "noSlug": True}),
    ("pages", PAGES, {"name": "p-line", "first": 2}),
    ("pages-after", PAGES, {"name": "p-line", "first": 2, "after": encode_cursor("release", 4)}),
    ("pages-first-0", PAGES, {"name": "t-line", "first": 0}),
    ("pages-first-101", PAGES, {"name": "p-line", "first": 101}),
    ("pages-bad-cursor", PAGES, {"name": "p-line", "first": 2, "after": encode_cursor("pipeline", "p-line")}),
    ("unknown-name", DASHBOARD, {"name": "nope"}),
    ("impossible-name", DASHBOARD, {"name": "Not A Name!"}),
    ("leaves", LEAVES, {"name": "t-line"}),
    ("timestamps", TIMESTAMPS, {"name": "p-line"}),
    ("timestamps-scheduled", TIMESTAMPS, {"name": "t-line"}),
    ("by-id", BY_ID, {"id": "<Pipeline p-line>"}),
    ("by-id-of-an-app", BY_ID, {"id": "<App p-dev>"}),
    ("by-malformed-id", BY_ID, {"id": str(relay.GlobalID("Pipeline", "not-a-key"))}),
    ("by-undecodable-id", BY_ID, {"id": "bm90IGFuIGlk"}),
    ("name-and-id", BOTH, {"id": "<Pipeline p-line>"}),
    ("neither-name-nor-id", NONE, {}),
    ("int-out-of-range", SIZE, {"name": "t-line"}),
    ("not-compiled", NOT_COMPILED, {"name": "p-line"}),
    ("mixed-roots", MIXED_ROOTS, {"name": "p-line"}),
    ("mixed-nodes", MIXED, {"name": "t-line", "withVars": True, "deleted": False}),
    ("mixed-nodes-skip", MIXED, {"name": "p-line", "withVars": False, "deleted": True}),
    ("mixed-errors-none", MIXED_ERRORS, {"name": "t-line", "first": 1}),
    ("mixed-errors-below-apps", MIXED_ERRORS, {"name": "t-line", "first": 1000}),
    ("mixed-error-on-the-pipeline", MIXED_NULLABLE_ERROR, {"name": "p-line", "first": -1}),
    ("app", APP, {"name": "p-dev"}),
    ("app-of-a-team", APP, {"name": "t-dev"}),
    ("app-ephemeral", APP, {"name": "t-review-1"}),
    ("app-unknown", APP, {"name": "nope"}),
    ("app-impossible-name", APP, {"name": "Not A Name!"}),
    ("app-out-of-range", APP, {"name": "t-staging"}),
    ("app-mixed", APP_MIXED, {"name": "p-dev"}),
    ("app-mixed-loose", APP_MIXED, {"name": "p-loose"}),
    ("apps", APPS, {}),
    ("apps-loose", APPS, {"inPipeline": False}),
    ("apps-coupled", APPS, {"inPipeline": True, "first": 2}),
    ("apps-after", APPS, {"first": 2, "after": encode_cursor("app", "p-dev")}),
    ("apps-first-0", APPS, {"first": 0}),
    ("apps-first-101", APPS, {"first": 101}),
    ("apps-cursor-of-another-list", APPS, {"after": encode_cursor("pipeline", "p-line")}),
    ("apps-mixed-nodes", APPS_MIXED, {}),
    ("page-info-only", PAGE_INFO_ONLY, {}),
    ("pipelines-mixed", PIPELINES_MIXED, {}),
    ("pipelines-mixed-after", PIPELINES_MIXED, {"first": 1, "after": encode_cursor("pipeline", "p-line")}),
    ("pipelines-mixed-first-0", PIPELINES_MIXED, {"first": 0}),
    ("pipelines-mixed-bad-cursor", PIPELINES_MIXED, {"after": "nope"}),
    ("pipelines-mixed-edges-twice", PIPELINES_MIXED_TWICE, {}),
    ("node-pipeline", NODE, {"id": "<Pipeline t-line>"}),
    ("node-app", NODE, {"id": "<App p-dev>"}),
    ("node-ephemeral-app", NODE, {"id": "<App t-review-1>"}),
    ("node-release", NODE, {"id": "<Release p-dev/v1>"}),
    ("node-release-of-a-team", NODE, {"id": "<Release t-dev/v1>"}),
    ("node-release-out-of-range", NODE, {"id": "<Release t-staging/v2>"}),
    ("node-release-unknown", NODE, {"id": str(relay.GlobalID("Release", "99999"))}),
    ("node-slug", NODE, {"id": "<Slug p-dev/slug>"}),
    ("node-slug-of-a-team", NODE, {"id": "<Slug t-prod/slug>"}),
    ("node-slug-with-a-release-key", NODE, {"id": "<Slug p-dev/v1>"}),
    ("node-user-owner", NODE, {"id": "<User owner>"}),
    ("node-user-teammate", NODE, {"id": "<User team-member>"}),
    ("node-user-stranger", NODE, {"id": "<User stranger>"}),
    ("node-user-with-an-app-key", NODE, {"id": "<User p-dev>"}),
    ("node-team", NODE, {"id": "<Team crew>"}),
    ("node-team-solo", NODE, {"id": "<Team solo>"}),
    ("node-team-malformed", NODE, {"id": str(relay.GlobalID("Team", "-1"))}),
    ("node-unknown-type", NODE, {"id": str(relay.GlobalID("Nope", "1"))}),
    ("node-malformed", NODE, {"id": str(relay.GlobalID("App", "not-a-key"))}),
    ("node-undecodable", NODE, {"id": "bm90IGFuIGlk"}),
    ("node-mixed-pipeline", NODE_MIXED, {"id": "<Pipeline t-line>"}),
    ("node-mixed-app", NODE_MIXED, {"id": "<App t-review-1>"}),
    ("node-mixed-release", NODE_MIXED, {"id": "<Release p-guest/v1>"}),
    ("node-mixed-release-of-a-team", NODE_MIXED, {"id": "<Release t-dev/v1>"}),
    ("node-mixed-user", NODE_MIXED, {"id": "<User team-admin>"}),
    ("node-mixed-team", NODE_MIXED, {"id": "<Team crew>"}),
    ("release-mixed", RELEASE_MIXED, {"name": "p-dev", "first": 3}),
    ("release-mixed-promoted", RELEASE_MIXED, {"name": "p-guest", "first": 2}),
    ("release-mixed-team", RELEASE_MIXED, {"name": "t-dev", "first": 1}),
    ("release-mixed-first-0", RELEASE_MIXED, {"name": "p-dev", "first": 0}),
    ("owners-mixed-personal", OWNERS_MIXED, {"name": "p-line"}),
    ("owners-mixed-team", OWNERS_MIXED, {"name": "t-line"}),
    ("review-apps", REVIEW_APPS, {"name": "t-line", "deleted": False}),
    ("review-apps-deleted", REVIEW_APPS, {"name": "t-line", "deleted": True}),
    ("review-apps-none", REVIEW_APPS, {"name": "p-line", "deleted": True}),
    ("review-apps-mixed", REVIEW_APPS_MIXED, {}),
    ("release-errors-none", RELEASE_ERRORS, {"name": "p-dev", "builds": 1, "tokens": 1}),
    ("release-errors-below-app", RELEASE_ERRORS, {"name": "p-dev", "builds": 1000, "tokens": 1}),
    ("release-errors-below-user", RELEASE_ERRORS, {"name": "t-dev", "builds": 1, "tokens": -1}),
]

VIEWERS = sorted(PROFILES)
# Documents the compiled reads answer (for the owner, who sees a pipeline), and those left to the resolvers: the
# others are answered by whichever path their arguments lead to (errors and nulls come before any read).
COMPILED = {
    "everything-personal", "everything-team", "dashboard", "web-overview-personal", "web-overview-team", "owners",
    "bulk", "bulk-first-1", "bulk-after", "directives-on", "directives-off", "pages", "pages-after", "pages-first-0",
    "unknown-name", "leaves", "timestamps", "timestamps-scheduled", "by-id", "by-malformed-id", "mixed-roots",
    "not-compiled", "mixed-nodes",
    "mixed-nodes-skip", "mixed-errors-none", "mixed-errors-below-apps", "mixed-error-on-the-pipeline",
    "app", "app-of-a-team", "app-ephemeral", "app-unknown", "app-mixed", "app-mixed-loose",
    "apps", "apps-loose", "apps-coupled", "apps-after", "apps-mixed-nodes", "pipelines-mixed", "pipelines-mixed-after",
    "node-pipeline", "node-app", "node-ephemeral-app", "node-malformed", "node-mixed-pipeline", "node-mixed-app",
    "node-release", "node-release-of-a-team", "node-release-unknown", "node-slug", "node-slug-of-a-team",
    "node-slug-with-a-release-key", "node-user-owner", "node-user-teammate", "node-user-stranger",
    "node-user-with-an-app-key", "node-team", "node-team-solo", "node-team-malformed", "node-mixed-release",
    "node-mixed-release-of-a-team", "node-mixed-user", "node-mixed-team", "release-mixed", "release-mixed-promoted",
    "release-mixed-team", "release-mixed-first-0", "owners-mixed-personal", "owners-mixed-team",
    "review-apps", "review-apps-deleted", "review-apps-none", "review-apps-mixed",
    "release-errors-none", "release-errors-below-app", "release-errors-below-user",
}  # fmt: skip
RESOLVED = {
    "pages-first-101", "pages-bad-cursor", "name-and-id", "neither-name-nor-id", "pipelines-mixed-edges-twice",
}  # fmt: skip
# The compiled tree statement: a pipeline with its couplings and apps, apps with their joins, or a node (fetch.py).
TREE = re.compile(r"FROM pipelines p .*LEFT JOIN pipeline_couplings c|FROM apps a |FROM \w+ n ")


async def _richer_world() -> World:
    """The matrix world, plus what the compiled reads must get right: pages of releases, a failed release with its
    log, an ephemeral review app (seen by team admins only, not members) with its pull request (and a deleted one's),
    a TEST-stage app (in `apps`, in no stage), a slug too big for GraphQL's Int, and a foreign app in p-line owned by
    the stranger (who sees p-line through it) whose release was promoted from p-dev (which the stranger does not see);
    t-line is scheduled for deletion. Users and teams are named in `ids` too."""
    world = await build_world()
    for name, actor in world.actors.items():
        world.ids[name] = actor.user.id
    world.ids[SOLO_TEAM] = (await Team.get(name=SOLO_TEAM)).id
    stranger = world.actors["stranger"].user
    guest = await App.create(name="p-guest", owner=stranger, stack="heroku-24")
    await PipelineCoupling.create(pipeline=await Pipeline.get(name="p-line"), app=guest, stage=Stage.PRODUCTION)
    guest_slug = await Slug.create(app=guest, checksum=CHECKSUM, size=1, stack="heroku-24", process_types={})
    promoted = await Release.create(
        app=guest, version=1, slug=guest_slug, is_current=True, description="Promote p-dev v1",
        status=ReleaseStatus.SUCCEEDED, created_by=stranger, source_release_id=world.ids["p-dev/v1"],
    )  # fmt: skip
    world.ids["p-guest/v1"] = promoted.id
    for side in ("p", "t"):
        app = await App.get(name=f"{side}-dev")
        slug = await Slug.get(app=app)
        for version in range(2, 7):
            failed = version == 5
            await Release.create(
                app=app, version=version, slug=slug, is_current=False, description=f"v{version}",
                status=ReleaseStatus.FAILED if failed else ReleaseStatus.SUCCEEDED,
                error_message="the release phase exited with 1" if failed else None,
                release_log="migrating\nexit 1" if failed else "", source_release_id=world.ids[f"{side}-dev/v1"],
            )  # fmt: skip
    team_line = await Pipeline.get(name="t-line")
    owner = world.actors["team-admin"].user
    for name, stage in (("t-review-1", Stage.REVIEW), ("t-ci-1", Stage.TEST)):
        app = await App.create(name=name, owner=owner, team_id=team_line.team_id, stack="heroku-24", ephemeral=True)
        await PipelineCoupling.create(pipeline=team_line, app=app, stage=stage)
        world.ids[name] = app.id
    await Pipeline.filter(id=team_line.id).update(delete_at=datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    # Moments written with other offsets than UTC's, and with whole seconds (isoformat then prints no fraction):
    # SQLite keeps the text as written, which the compiled dates must read as the ORM does.
    moments = (
        datetime(2025, 3, 30, 1, 59, 59, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2025, 10, 26, 2, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=14))),
    )
    for version, moment in zip(range(2, 7), moments, strict=True):
        await Release.filter(app__name="p-dev", version=version).update(created_at=moment, updated_at=moment)
    await App.filter(name="p-dev").update(created_at=moments[0], updated_at=moments[2])
    review = await App.get(name="t-review-1")
    pulls: tuple[tuple[int, App | None, ReviewAppStatus], ...] = (
        (7, review, ReviewAppStatus.CREATED),
        (6, None, ReviewAppStatus.DELETED),
    )
    for number, linked, status in pulls:
        await ReviewApp.create(
            pipeline=team_line, app=linked, app_name=f"t-line-pr-{number}", pr_number=number, branch=f"pr-{number}",
            head_sha="", status=status, message=status.value,
        )  # fmt: skip
    big = await Slug.create(
        app_id=world.ids["t-staging"], checksum=CHECKSUM, size=2**40, stack="heroku-24", process_types={},
        uploaded_at=datetime.now(UTC),
    )  # fmt: skip
    await Release.filter(app_id=world.ids["t-staging"]).update(is_current=False)
    oversized = await Release.create(
        app_id=world.ids["t-staging"], version=2, slug=big, is_current=True, status=ReleaseStatus.SUCCEEDED
    )
    world.ids["t-staging/v2"] = oversized.id
    return world


_GLOBAL_ID = re.compile(r"<(\w+) (\S+)>")


def _filled(variables: dict[str, Any], world: World) -> dict[str, Any]:
    """The variables, "<Type name>" standing for that object's global ID."""

    def filled(value: Any) -> Any:
        found = _GLOBAL_ID.fullmatch(value) if isinstance(value, str) else None
        return world.gid(found.group(1), found.group(2)) if found else value

    return {key: filled(value) for key, value in variables.items()}


@pytest.fixture
async def both(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two clients of one database: compiled reads on, and the resolvers alone."""
    compiled_app = create_app(settings, manage_db=False)
    resolvers_app = create_app(replace(settings, compiled_reads=False), manage_db=False)
    async with (
        compiled_app.router.lifespan_context(compiled_app),
        resolvers_app.router.lifespan_context(resolvers_app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=compiled_app), base_url="http://test") as compiled,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=resolvers_app), base_url="http://test") as resolvers,
    ):
        yield compiled, resolvers


async def _post(client: httpx.AsyncClient, actor: Actor, query: str, variables: dict[str, Any]) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=actor.headers)


@pytest.mark.parametrize(("name", "query", "variables"), CORPUS, ids=[name for name, _, _ in CORPUS])
async def test_compiled_reads_answer_byte_for_byte_what_the_resolvers_answer(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
    sql_statements: StatementCounter,
    name: str,
    query: str,
    variables: dict[str, Any],
) -> None:
    # given the matrix world with pages of releases, ephemeral apps and an oversized slug
    world = await _richer_world()
    compiled, resolvers = both
    for viewer in VIEWERS:
        actor = world.actors[viewer]
        filled = _filled(variables, world)

        # when the viewer sends the document to both paths (twice to the compiled one: the second uses its plan cache)
        expected = await _post(resolvers, actor, query, filled)
        answers = [await _post(compiled, actor, query, filled) for _ in range(2)]

        # then the bodies are the same, byte for byte
        for answer in answers:
            assert answer.status_code == expected.status_code
            assert answer.json() == expected.json(), viewer
            assert answer.content == expected.content, viewer

    # and the path taken is the one meant: compiled where covered, the resolvers' otherwise
    sql_statements.statements.clear()
    await _post(compiled, world.actors["owner"], query, _filled(variables, world))
    compiled_tree = any(TREE.search(statement) for statement in sql_statements.statements)
    assert compiled_tree == (name in COMPILED) or name not in COMPILED | RESOLVED


async def test_paging_with_the_cursors_given_walks_the_same_pages(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    # given the world, and the owner paging p-dev's releases two at a time from the cursors each path hands out
    world = await _richer_world()
    compiled, resolvers = both
    owner = world.actors["owner"]
    pages: dict[str, list[Any]] = {"compiled": [], "resolvers": []}
    for label, client in (("compiled", compiled), ("resolvers", resolvers)):
        after = None
        while True:
            body = (await _post(client, owner, PAGES, {"name": "p-line", "first": 2, "after": after})).json()
            dev = next(app for app in body["data"]["pipeline"]["apps"] if app["name"] == "p-dev")
            pages[label].append(dev["page"])
            if not dev["page"]["pageInfo"]["hasNextPage"]:
                break
            after = dev["page"]["pageInfo"]["endCursor"]

    # then both walked the same pages, cursor for cursor, to the end
    assert pages["compiled"] == pages["resolvers"]
    assert [edge["node"]["version"] for page in pages["compiled"] for edge in page["edges"]] == [6, 5, 4, 3, 2, 1]


# Statements -----------------------------------------------------------------------------------------------------

# Who the viewer is and what they may do is read before any field: those statements are the same for every read.
# (On PostgreSQL a known dashboard query's data is read by that very statement, api/speculation.py: it counts as the
# read it is, since it reads the read's tables too.)
_VIEWER_TABLES = {"api_tokens", "team_memberships", "app_collaborators", "pipeline_access_grants", "users"}
_TABLES = re.compile(r'\b(?:FROM|JOIN) "?(\w+)"?')


def _read_statements(statements: list[str]) -> list[str]:
    return [statement for statement in statements if set(_TABLES.findall(statement)) - _VIEWER_TABLES]


async def _statements_of(
    client: httpx.AsyncClient, settings: Settings, counter: StatementCounter, query: str, shape: GraphShape
) -> list[str]:
    await truncate_all()
    actor = await make_actor()
    await seed_graph(shape, owner=actor.user, store=LocalSlugStore(settings.slug_dir))
    counter.statements.clear()
    response = await _post(client, actor, query, {"name": "shop", "first": 20})
    assert not response.json().get("errors"), response.json()
    return _read_statements(counter.statements)


@pytest.mark.parametrize(("query", "expected"), [(DASHBOARD, 1), (BULK, 3)], ids=["dashboard", "bulk"])
async def test_a_compiled_read_costs_a_fixed_handful_of_statements(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient],
    settings: Settings,
    sql_statements: StatementCounter,
    query: str,
    expected: int,
) -> None:
    compiled, _ = both

    # when the dashboard (one pipeline) and the bulk read (every pipeline, with release pages) run, small and large
    small = await _statements_of(compiled, settings, sql_statements, query, SMALL)
    large = await _statements_of(compiled, settings, sql_statements, query, LARGE)

    # then beyond reading the viewer and their rights, the dashboard costs one statement (the pipeline with its apps,
    # current releases and slugs joined), the bulk read three (the page of pipelines, their tree, the release pages)
    assert len(small) == expected, "\n".join(small)
    assert len(large) == expected, "\n".join(large)


def test_global_ids_are_strawberrys() -> None:
    # the compiled leaves encode ids as strawberry's GlobalID does
    from pipegraph.reads.shapes import PIPELINE

    assert PIPELINE.leaves["id"].serialize(7) == str(relay.GlobalID("Pipeline", "7"))


async def test_the_web_overview_costs_its_tree_its_review_apps_and_its_loose_apps(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], sql_statements: StatementCounter
) -> None:
    # given t-line with a review app, seen with its app by a team admin (a first request records the token's use)
    world = await _richer_world()
    compiled, _ = both
    admin = world.actors["team-admin"]
    await _post(compiled, admin, OVERVIEW, {"name": "t-line"})
    sql_statements.statements.clear()

    # when the web overview runs (all compiled, its review apps too)
    response = await _post(compiled, admin, OVERVIEW, {"name": "t-line"})

    # then beyond reading the viewer, it costs the pipeline's tree, its review apps with their apps joined, and the
    # loose apps' ids and rows: four statements, where the resolvers take seven
    assert response.json()["data"]["pipeline"]["reviewApps"][0]["app"]["name"] == "t-review-1"
    reads = _read_statements(sql_statements.statements)
    assert len(reads) == 4, "\n".join(reads)
    assert sum("review_apps" in statement for statement in reads) == 1


def test_the_web_documents_are_read_whole_from_the_dashboards_source() -> None:
    # given every operation the dashboard sends, read from its source with the fragments it spreads
    from graphql import OperationDefinitionNode, parse, validate

    from pipegraph.schema import schema
    from pipegraph.testing.web_operations import operation_names

    names = operation_names()

    # then each is one operation that the schema validates (a fragment left out would be an unknown one)
    assert {"PipelineOverview", "Pipelines", "Viewer"} <= set(names)
    for name in names:
        document = parse(web_document(name))
        operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
        assert [operation.name.value for operation in operations if operation.name] == [name]
        assert validate(schema._schema, document) == [], name
