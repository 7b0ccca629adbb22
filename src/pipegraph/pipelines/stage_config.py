"""A pipeline's stage config vars: what every new review app (REVIEW) or CI run (TEST) gets, settable by the API
(Heroku kept them to its dashboard), and the grace period before an empty pipeline goes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from pipegraph.apps.service import validated_config_changes
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.pipelines.models import Pipeline, PipelineCoupling, Stage, StageConfigVars

CONFIG_STAGES = (Stage.REVIEW, Stage.TEST)


def parse_config_stage(value: str, *, field: str = "stage") -> Stage:
    try:
        stage = Stage(value.strip().lower())
    except ValueError:
        stage = None
    if stage not in CONFIG_STAGES:
        raise DomainError(
            ErrorCode.INVALID_STAGE, f"stage {value!r} has no config vars of its own: use REVIEW or TEST", field=field
        )
    return stage


async def stage_config_vars(pipeline_id: int, stage: Stage) -> dict[str, str]:
    row = await StageConfigVars.get_or_none(pipeline_id=pipeline_id, stage=stage)
    return {str(key): str(value) for key, value in (row.vars if row else {}).items()}


async def set_stage_config_vars(pipeline: Pipeline, stage: str, changes: Mapping[str, object]) -> dict[str, str]:
    """Set (or, with null, remove) a stage's config vars; the stage's vars as they then are."""
    chosen = parse_config_stage(stage)
    validated = validated_config_changes(changes)
    async with in_transaction():
        row, _ = await StageConfigVars.get_or_create(pipeline_id=pipeline.id, stage=chosen)
        values = dict(row.vars)
        for key, value in validated.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        row.vars = values
        await row.save(update_fields=["vars", "updated_at"])
    return {str(key): str(value) for key, value in values.items()}


async def schedule_if_empty(pipeline_id: int, grace: float) -> None:
    """The last app left: the pipeline goes after `grace` seconds, unless an app comes back first."""
    if not await PipelineCoupling.exists(pipeline_id=pipeline_id):
        await Pipeline.filter(id=pipeline_id, delete_at__isnull=True).update(
            delete_at=datetime.now(UTC) + timedelta(seconds=grace)
        )


async def cancel_deletion(pipeline_id: int) -> None:
    await Pipeline.filter(id=pipeline_id, delete_at__isnull=False).update(delete_at=None)


async def delete_empty_pipelines(now: datetime) -> int:
    """Delete the pipelines whose grace period passed and that are still empty; how many went."""
    deleted = 0
    for pipeline in await Pipeline.filter(delete_at__lte=now):
        async with in_transaction():
            if await PipelineCoupling.exists(pipeline_id=pipeline.id):
                await cancel_deletion(pipeline.id)
                continue
            deleted += await Pipeline.filter(id=pipeline.id, delete_at__lte=now).delete()
    return deleted
