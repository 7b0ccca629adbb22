from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds.models import Build
from pipegraph.pipelines.models import Pipeline


# Heroku's review-app-config: whether pull requests get review apps by themselves, and when idle ones go.
class ReviewAppConfig(Model):
    id = fields.BigIntField(primary_key=True)
    pipeline: fields.OneToOneRelation[Pipeline] = fields.OneToOneField(
        "pipegraph.Pipeline", related_name="review_app_config", on_delete=fields.CASCADE
    )
    automatic = fields.BooleanField(default=False)
    destroy_stale_apps = fields.BooleanField(default=False)
    stale_days = fields.IntField(default=5)
    wait_for_ci = fields.BooleanField(default=False)
    base_name = fields.CharField(max_length=24)
    updated_at = fields.DatetimeField(auto_now=True)

    pipeline_id: int

    class Meta:
        table = "review_app_configs"


class ReviewAppStatus(StrEnum):
    PENDING = "pending"
    CREATING = "creating"
    CREATED = "created"
    DELETING = "deleting"
    DELETED = "deleted"
    ERRORED = "errored"


# A review app that is there (or being made): not going, nor gone.
ACTIVE = (ReviewAppStatus.PENDING, ReviewAppStatus.CREATING, ReviewAppStatus.CREATED, ReviewAppStatus.ERRORED)


# A pull request's review app: one row per pull request of a pipeline (the unique pair makes two deliveries for one
# pull request at once give one review app), reused when the pull request is reopened.
class ReviewApp(Model):
    id = fields.BigIntField(primary_key=True)
    pipeline: fields.ForeignKeyRelation[Pipeline] = fields.ForeignKeyField(
        "pipegraph.Pipeline", related_name="review_apps", on_delete=fields.CASCADE
    )
    app: fields.ForeignKeyNullableRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="review_app", null=True, on_delete=fields.SET_NULL
    )
    app_name = fields.CharField(max_length=30)
    pr_number = fields.IntField()
    branch = fields.CharField(max_length=255)
    head_sha = fields.CharField(max_length=40)  # the commit wanted
    building_sha = fields.CharField(max_length=40, null=True)  # the commit the current build was made from
    # The wanted commit the review app's job last finished with (built it, waits for its CI, or gave it up): a wanted
    # commit no job finished with is the reconciler's to hand to one (a push whose job the queue refused).
    worked_sha = fields.CharField(max_length=40, null=True)
    fork = fields.BooleanField(default=False)
    wait_for_ci = fields.BooleanField(default=False)
    ci_deadline = fields.DatetimeField(null=True, db_index=True)  # when no CI reporting on head_sha gives it up
    # The job's failures in a row on an unexpected error, and when the reconciler may try it again (a growing wait):
    # a push, or asking for the review app again, tries at once and starts the count afresh.
    crashes = fields.IntField(default=0)
    next_try_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(ReviewAppStatus, max_length=16, default=ReviewAppStatus.PENDING)
    message = fields.TextField(default="")
    build: fields.ForeignKeyNullableRelation[Build] = fields.ForeignKeyField(
        "pipegraph.Build", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    github_deployment_id = fields.BigIntField(null=True)  # the GitHub deployment of the current build
    # The one GitHub shows deployed (its last success): transient deployments are not made inactive by a newer one's
    # success, so pipegraph does it, and at the destruction.
    live_deployment_id = fields.BigIntField(null=True)
    app_json: dict[str, Any] = fields.JSONField(default=dict)  # as read from the last source built
    postdeploy_ran = fields.BooleanField(default=False)
    postdeploy_output = fields.TextField(null=True)
    predestroy_output = fields.TextField(null=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    last_deployed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    pipeline_id: int
    app_id: int | None
    build_id: int | None
    created_by_id: int | None

    class Meta:
        table = "review_apps"
        unique_together = (("pipeline", "pr_number"),)
