"""What a pipeline's live subscriptions decide visibility from, read once per burst of events.

The rules (access/rights.py) need the pipeline's owner columns and those of every coupled app; a subscription used to
load them for each event, as ORM models (the couplings with their apps joined: 51 rows per event of a 50-target
promotion). Here they are read once per burst, in one statement of the needed columns, no model built, and shared by
every socket of the process that follows the pipeline through the same burst (api/burst_share.py). Each socket then
decides in memory with its viewer's rights as they are at each event; the answer for one set of rights is kept with
the view, so sockets with the same rights decide once.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from tortoise.connection import connections

from pipegraph.access.rights import Rights
from pipegraph.access.rules import PipelineRight
from pipegraph.api.burst_share import BurstShare
from pipegraph.core.bulk import in_list, marks


@dataclass(slots=True)
class Owned:
    """A pipeline's or an app's columns that the rules read (OwnedPipeline, OwnedApp)."""

    id: int
    owner_id: int
    team_id: int | None
    ephemeral: bool = False


@dataclass
class PipelineView:
    pipeline: Owned | None  # None: the pipeline is gone
    coupled: dict[int, Owned]  # its apps, by id
    # Apps asked for that are not coupled (one removed from the pipeline meanwhile), None when gone: read on demand.
    others: dict[int, Owned | None] = field(default_factory=dict)
    _answers: dict[tuple[object, ...], tuple[bool, frozenset[int]]] = field(default_factory=dict, repr=False)

    def sees_pipeline(self, rights: Rights) -> bool:
        return self._answer(rights)[0]

    def sees_app(self, rights: Rights, app_id: int) -> bool:
        """Whether the viewer sees the app (coupled or not: call `include` first for those that may not be)."""
        if app_id in self.coupled:
            return app_id in self._answer(rights)[1]
        app = self.others.get(app_id)
        return app is not None and rights.can_view_app(app)

    def seen_among(self, rights: Rights, app_ids: AbstractSet[int]) -> frozenset[int]:
        """The apps among `app_ids` the viewer sees (call `include` first): decided once per app, for a batch whose
        events are a few per app."""
        return frozenset(app_id for app_id in app_ids if self.sees_app(rights, app_id))

    def sees_coupled_app(self, rights: Rights, app_id: int) -> bool:
        """Whether the app is in the pipeline and the viewer sees it."""
        return app_id in self.coupled and app_id in self._answer(rights)[1]

    async def include(self, app_ids: Iterable[int]) -> None:
        """Read the apps among `app_ids` that are neither coupled nor read yet (rare: a target's app removed from the
        pipeline, or destroyed)."""
        missing = sorted({app_id for app_id in app_ids if app_id not in self.coupled and app_id not in self.others})
        if not missing:
            return
        connection = connections.get("default")
        mark = marks(connection)
        sql = f'SELECT "id", "owner_id", "team_id", "ephemeral" FROM "apps" WHERE "id" IN {in_list(mark, len(missing))}'
        found = {int(row["id"]): _app(row) for row in await connection.execute_query_dict(sql, missing)}
        for app_id in missing:
            self.others[app_id] = found.get(app_id)

    def _answer(self, rights: Rights) -> tuple[bool, frozenset[int]]:
        answer = self._answers.get(rights.key)
        if answer is None:
            seen = frozenset(app.id for app in self.coupled.values() if rights.can_view_app(app))
            pipeline_seen = self.pipeline is not None and PipelineRight.VIEW in rights.pipeline_rights(
                self.pipeline, self.coupled.values()
            )
            answer = self._answers[rights.key] = (pipeline_seen, seen)
        return answer


def _app(row: dict[str, object]) -> Owned:
    team = row["team_id"]
    return Owned(
        int(row["id"]),  # type: ignore[call-overload]
        int(row["owner_id"]),  # type: ignore[call-overload]
        None if team is None else int(team),  # type: ignore[call-overload]
        bool(row["ephemeral"]),
    )


async def read_view(pipeline_id: int) -> PipelineView:
    """The pipeline's and its coupled apps' owner columns, as the database has them now, in one statement."""
    connection = connections.get("default")
    mark = marks(connection)
    sql = (
        'SELECT p."owner_id" AS "pipeline_owner_id", p."team_id" AS "pipeline_team_id", a."id", a."owner_id", '
        'a."team_id", a."ephemeral" FROM "pipelines" p LEFT JOIN "pipeline_couplings" c ON c."pipeline_id" = p."id" '
        f'LEFT JOIN "apps" a ON a."id" = c."app_id" WHERE p."id" = {next(mark)}'
    )
    rows = await connection.execute_query_dict(sql, [pipeline_id])
    if not rows:
        return PipelineView(None, {})
    first = rows[0]
    team = first["pipeline_team_id"]
    pipeline = Owned(pipeline_id, int(first["pipeline_owner_id"]), None if team is None else int(team))
    return PipelineView(pipeline, {int(row["id"]): _app(row) for row in rows if row["id"] is not None})


_views: BurstShare[PipelineView] = BurstShare()


async def pipeline_view(pipeline_id: int, burst: object | None) -> PipelineView:
    """The view for a burst of events: read once for all the sockets that follow the pipeline through that burst
    (`burst`: what the stream's reader delivered, the same for all of them), or, for a read of one's own (a snapshot,
    a catch-up: None), read for this caller alone."""
    return await _views.for_burst(burst, pipeline_id, lambda: read_view(pipeline_id))
