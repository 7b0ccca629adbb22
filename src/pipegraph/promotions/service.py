"""Promotion rules: which release goes where. Validation first, then one transaction writes the promotion and its
targets; the jobs it returns are enqueued by the caller once that transaction has committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.bulk import insert_copies
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.relay import not_found, rows_by_reference
from pipegraph.jobs.queue import Job, JobKind
from pipegraph.logs import log_context
from pipegraph.pipelines.models import PipelineCoupling, Stage
from pipegraph.promotions.models import Promotion, PromotionTarget
from pipegraph.releases.models import Release, ReleaseStatus
from pipegraph.releases.service import get_release, needs_release_phase
from pipegraph.slugs.models import Slug

# Works one target to its end (workers/jobs.py).
PROMOTE_TARGET = JobKind("promote_target", key="promote-target")
# Works every target of a promotion without a release phase at once (promotions/batch.py).
PROMOTE_TARGETS = JobKind("promote_targets", key="promote-batch")
# A promotion's targets are all read, then authorized one by one, before anything is written: bound the work a single
# request can ask for (a pipeline stage rarely holds more than a handful of apps).
MAX_TARGETS = 100
# Heroku's order: a promotion without `to` goes one stage down.
NEXT_STAGE = {Stage.DEVELOPMENT: Stage.STAGING, Stage.STAGING: Stage.PRODUCTION}

# Checks the caller may deploy to a target, given the app and the reference the client named it by (None for a
# default downstream target); raises a DomainError to refuse. Called before anything is written.
AuthorizeTarget = Callable[[App, str | None], Awaitable[None]]


async def _allow_any(app: App, reference: str | None) -> None:
    return None


def target_job(target_id: int, *, retry: int = 0) -> Job:
    """The first job of a target has a fixed id; the reconciler's takeover of a dead worker's target gets a new one."""
    return PROMOTE_TARGET.job(target_id, retry=retry or None)


def batch_job(promotion_id: int) -> Job:
    return PROMOTE_TARGETS.job(promotion_id)


async def _coupling(app: App, *, field: str) -> PipelineCoupling:
    coupling = await PipelineCoupling.get_or_none(app_id=app.id)
    if coupling is None:
        raise DomainError(ErrorCode.APP_NOT_IN_PIPELINE, f"app {app.name} is not in a pipeline", field=field)
    return coupling


async def _source_release(source: App, reference: str | None) -> Release:
    if reference is not None:
        release = await get_release(source, reference)
        if release.status != ReleaseStatus.SUCCEEDED:
            raise DomainError(
                ErrorCode.RELEASE_NOT_SUCCEEDED,
                f"v{release.version} of {source.name} is {release.status.value}: only a succeeded release is promoted",
                field="release",
            )
        return release
    current = await Release.get_or_none(app_id=source.id, is_current=True)
    if current is None:
        raise DomainError(
            ErrorCode.NO_SUCCEEDED_RELEASE,
            f"app {source.name} has no succeeded release to promote: deploy it first",
            field="source",
        )
    return current


async def _chosen_targets(
    source: App, coupling: PipelineCoupling, names: Sequence[str], authorize: AuthorizeTarget
) -> list[App]:
    if not names:
        raise DomainError(ErrorCode.INVALID, "`to` is empty: name at least one app, or leave it out", field="to")
    unique = list(dict.fromkeys(names))  # an app named twice is promoted to once
    if len(unique) > MAX_TARGETS:
        raise DomainError(
            ErrorCode.INVALID,
            f"`to` names {len(unique)} apps: a promotion goes to at most {MAX_TARGETS}; split it into several",
            field="to",
        )
    # Every app and its pipeline in two statements, then each name checked in the order given, as one by one.
    found = await rows_by_reference(App, unique)
    couplings = PipelineCoupling.filter(app_id__in=[app.id for app in found.values()])
    pipeline_of = dict(await couplings.values_list("app_id", "pipeline_id"))
    targets: dict[int, App] = {}
    for name in unique:
        app = found.get(name)
        if app is None:
            raise not_found(App, name, field="to")
        await authorize(app, name)  # first: an app the caller cannot see must not be told apart from none
        if app.id == source.id:
            raise DomainError(ErrorCode.TARGET_IS_SOURCE, f"cannot promote {source.name} to itself", field="to")
        if pipeline_of.get(app.id) != coupling.pipeline_id:
            raise DomainError(
                ErrorCode.TARGET_NOT_IN_PIPELINE,
                f"app {app.name} is not in the pipeline of {source.name}",
                field="to",
            )
        targets[app.id] = app
    return list(targets.values())


async def _downstream_targets(source: App, coupling: PipelineCoupling, authorize: AuthorizeTarget) -> list[App]:
    next_stage = NEXT_STAGE.get(coupling.stage)
    if next_stage is None:
        raise DomainError(
            ErrorCode.CANNOT_PROMOTE_FROM_STAGE,
            f"Cannot promote {source.name} from '{coupling.stage.value}' stage: name the targets with `to`",
            field="source",
        )
    # Only what the checks and the targets' rows read: a promotion to 50 apps decoded each app's config vars.
    apps = await App.filter(coupling__pipeline_id=coupling.pipeline_id, coupling__stage=next_stage).only(
        "id", "name", "owner_id", "team_id", "ephemeral"
    )
    if not apps:
        raise DomainError(
            ErrorCode.NO_DOWNSTREAM_APPS, f"no downstream apps in {next_stage.value} stage", field="source"
        )
    targets = sorted(apps, key=lambda app: app.name)
    for app in targets:
        await authorize(app, None)
    return targets


async def promote(
    *,
    source: App,
    to: Sequence[str] | None,
    release: str | None,
    user: User | None,
    authorize_target: AuthorizeTarget = _allow_any,
) -> tuple[Promotion, list[Job]]:
    """Validate everything, then write the promotion and its targets at once; nothing is written on a refusal."""
    coupling = await _coupling(source, field="source")
    targets = await (
        _chosen_targets(source, coupling, to, authorize_target)
        if to is not None
        else _downstream_targets(source, coupling, authorize_target)
    )
    source_release = await _source_release(source, release)
    slug = await Slug.get(id=source_release.slug_id)
    async with in_transaction() as connection:
        promotion = await Promotion.create(
            pipeline_id=coupling.pipeline_id,
            source_app_id=source.id,
            source_release_id=source_release.id,
            created_by_id=user.id if user else None,
            using_db=connection,
        )
        target_ids = await _insert_targets(connection, promotion, targets)
    # The request's line carries the promotion's id, as do its targets' jobs' (workers/jobs.py): one promotion is
    # followed from the API through the workers.
    log_context(promotion_id=promotion.id)
    if needs_release_phase(slug):
        # Each target's release phase is a process of its own: one job each, so they run side by side.
        return promotion, [target_job(target_id) for target_id in target_ids]
    # Without one, a target is only bookkeeping: one job does them all in a constant number of statements.
    return promotion, [batch_job(promotion.id)]


async def _insert_targets(connection: BaseDBAsyncClient, promotion: Promotion, apps: list[App]) -> list[int]:
    """Every target in one INSERT, their ids in `apps`' order: a promotion to 50 apps was 50 round trips in its
    transaction."""
    ids = await insert_copies(
        connection, PromotionTarget(promotion_id=promotion.id), [{"app_id": app.id} for app in apps], key="app_id"
    )
    return [ids[app.id] for app in apps]
