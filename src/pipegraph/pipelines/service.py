"""Pipelines and couplings: an app sits in exactly one stage of at most one pipeline."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.core.names import validate_name
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage
from pipegraph.pipelines.stage_config import cancel_deletion, schedule_if_empty
from pipegraph.teams.models import Team

# The stages a user may put an app in; TEST is reserved for CI apps.
USER_STAGES = (Stage.REVIEW, Stage.DEVELOPMENT, Stage.STAGING, Stage.PRODUCTION)

# The Heroku CLI's `pipelines:create` guess from the app name's suffix.
_SUFFIX_STAGES = {
    Stage.DEVELOPMENT: ("-dev", "-development", "-uat", "-tst", "-test", "-qa"),
    Stage.STAGING: ("-stg", "-staging"),
    Stage.PRODUCTION: ("-prd", "-prod", "-production", "-admin", "-demo"),
}


def infer_stage(app_name: str) -> Stage:
    for stage, suffixes in _SUFFIX_STAGES.items():
        if app_name.endswith(suffixes):
            return stage
    return Stage.PRODUCTION


def parse_stage(value: str, *, field: str = "stage") -> Stage:
    """Stages are taken case-insensitively ("staging" or "STAGING"), so CLI habits work too."""
    try:
        stage = Stage(value.strip().lower())
    except ValueError:
        stage = None
    if stage not in USER_STAGES:
        valid = ", ".join(s.name for s in USER_STAGES)
        raise DomainError(ErrorCode.INVALID_STAGE, f"unknown stage {value!r}: use one of {valid}", field=field)
    return stage


async def _ensure_name_free(name: str, *, field: str = "name") -> None:
    if await Pipeline.exists(name=name):
        raise DomainError(ErrorCode.NAME_TAKEN, f"pipeline name {name!r} is already taken", field=field)


async def _ensure_loose(app: App) -> None:
    coupling = await PipelineCoupling.get_or_none(app_id=app.id).select_related("pipeline")
    if coupling is not None:
        raise DomainError(
            ErrorCode.APP_ALREADY_IN_PIPELINE,
            f"app {app.name} is already in pipeline {coupling.pipeline.name} ({coupling.stage.value}); "
            "remove it from there first",
            field="app",
        )


async def create_pipeline(
    *, owner: User, name: str, app: App, stage: str | None, team: Team | None = None
) -> tuple[Pipeline, PipelineCoupling]:
    """Heroku's rule: a pipeline starts with an app; its stage defaults to the guess from the app's name.
    Given a team, the team owns it (`owner` is then who created it)."""
    validate_name(name, what="pipeline")
    chosen = infer_stage(app.name) if stage is None else parse_stage(stage)
    await _ensure_name_free(name)
    await _ensure_loose(app)
    try:
        async with in_transaction():
            pipeline = await Pipeline.create(name=name, owner=owner, team=team)
            coupling = await PipelineCoupling.create(pipeline=pipeline, app=app, stage=chosen)
    except IntegrityError:
        raise DomainError(
            ErrorCode.NAME_TAKEN,
            f"pipeline {name!r} or a coupling of app {app.name} was just created",
            field="name",
        ) from None
    return pipeline, coupling


async def rename_pipeline(pipeline: Pipeline, name: str) -> Pipeline:
    validate_name(name, what="pipeline")
    if name == pipeline.name:
        return pipeline
    await _ensure_name_free(name)
    pipeline.name = name
    try:
        await pipeline.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        raise DomainError(ErrorCode.NAME_TAKEN, f"pipeline name {name!r} is already taken", field="name") from None
    return pipeline


async def destroy_pipeline(pipeline: Pipeline) -> None:
    """The pipeline and its couplings go; its apps stay, loose."""
    async with in_transaction():
        await PipelineCoupling.filter(pipeline_id=pipeline.id).delete()
        await pipeline.delete()


async def add_app(pipeline: Pipeline, app: App, stage: str) -> PipelineCoupling:
    chosen = parse_stage(stage)
    await _ensure_loose(app)
    try:
        coupling = await PipelineCoupling.create(pipeline=pipeline, app=app, stage=chosen)
    except IntegrityError:  # a concurrent add won: one coupling per app is a database constraint
        raise DomainError(
            ErrorCode.APP_ALREADY_IN_PIPELINE, f"app {app.name} was just added to a pipeline", field="app"
        ) from None
    await cancel_deletion(pipeline.id)  # an app came back within the grace period of an empty pipeline
    return coupling


async def _coupling_of(app: App) -> PipelineCoupling:
    coupling = await PipelineCoupling.get_or_none(app_id=app.id)
    if coupling is None:
        raise DomainError(ErrorCode.APP_NOT_IN_PIPELINE, f"app {app.name} is not in a pipeline", field="app")
    return coupling


async def remove_app(app: App, *, empty_grace: float) -> Pipeline:
    """Take the app out; a pipeline left empty is deleted `empty_grace` seconds later unless an app comes back."""
    coupling = await _coupling_of(app)
    pipeline = await Pipeline.get(id=coupling.pipeline_id)
    await coupling.delete()
    await schedule_if_empty(pipeline.id, empty_grace)
    await pipeline.refresh_from_db()
    return pipeline


async def move_app(app: App, stage: str) -> PipelineCoupling:
    chosen = parse_stage(stage)
    coupling = await _coupling_of(app)
    coupling.stage = chosen
    await coupling.save(update_fields=["stage"])
    return coupling
