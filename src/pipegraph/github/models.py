from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from pipegraph.accounts.models import User
from pipegraph.apps.models import App
from pipegraph.builds.models import Build
from pipegraph.pipelines.models import Pipeline


# A pipeline's GitHub repository: review apps, automatic deploys and CI need it. The webhook secret is kept as given
# (HMAC needs it in clear), shown to the user once.
class RepositoryConnection(Model):
    id = fields.BigIntField(primary_key=True)
    pipeline: fields.OneToOneRelation[Pipeline] = fields.OneToOneField(
        "pipegraph.Pipeline", related_name="repository", on_delete=fields.CASCADE
    )
    full_name = fields.CharField(max_length=140, db_index=True)  # "owner/name", as GitHub spells it
    webhook_secret = fields.CharField(max_length=100)
    installation_id = fields.BigIntField(null=True)  # a GitHub App's installation, once looked up
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    pipeline_id: int

    class Meta:
        table = "github_connections"


class DeliveryOutcome(StrEnum):
    QUEUED = "queued"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


# Every webhook delivery that passed its signature check, once (X-GitHub-Delivery is unique): a replay is answered
# and not processed again, and a user can see why nothing happened.
class WebhookDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    delivery_id = fields.CharField(max_length=100, unique=True)
    event = fields.CharField(max_length=60)
    action = fields.CharField(max_length=60, null=True)
    # The repository's full name, lowercased (GitHub's names are case-insensitive): its pipelines list it.
    repository = fields.CharField(max_length=140, null=True, db_index=True)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    outcome = fields.CharEnumField(DeliveryOutcome, max_length=16, default=DeliveryOutcome.QUEUED)
    message = fields.TextField(default="")
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "github_deliveries"


# An app deployed automatically on each push to `branch` of its pipeline's repository.
class AutomaticDeploy(Model):
    id = fields.BigIntField(primary_key=True)
    app: fields.OneToOneRelation[App] = fields.OneToOneField(
        "pipegraph.App", related_name="automatic_deploy", on_delete=fields.CASCADE
    )
    branch = fields.CharField(max_length=255)
    wait_for_ci = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    app_id: int

    class Meta:
        table = "github_automatic_deploys"


class DeployStatus(StrEnum):
    WAITING_FOR_CI = "waiting_for_ci"
    BUILDING = "building"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # CI failed on its commit, or no CI reported on it in time
    SUPERSEDED = "superseded"  # a newer push to the branch came while it waited

    @property
    def terminal(self) -> bool:
        return self not in (DeployStatus.WAITING_FOR_CI, DeployStatus.BUILDING)


# One deploy of a branch's commit from GitHub: a push (automatic) or deployBranch (by hand).
class Deploy(Model):
    id = fields.BigIntField(primary_key=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "pipegraph.App", related_name="github_deploys", on_delete=fields.CASCADE
    )
    repository = fields.CharField(max_length=140)
    branch = fields.CharField(max_length=255)
    sha = fields.CharField(max_length=40, null=True)  # null until a manual deploy resolved the branch
    wait_for_ci = fields.BooleanField(default=False)
    status = fields.CharEnumField(DeployStatus, max_length=16, default=DeployStatus.WAITING_FOR_CI)
    message = fields.TextField(default="")
    build: fields.ForeignKeyNullableRelation[Build] = fields.ForeignKeyField(
        "pipegraph.Build", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    github_deployment_id = fields.BigIntField(null=True)
    # Who pushed, by their GitHub login, for an automatic deploy (created_by is who asked for a deploy by hand):
    # GitHub's people are no pipegraph users, and none is made up for them.
    actor_login = fields.CharField(max_length=100, null=True)
    # While it waits for CI: when it looks at GitHub again by itself (a cron), in case an event was missed; if CI
    # has reported nothing at all on its commit by then, it is skipped (PIPEGRAPH_WAIT_FOR_CI_TIMEOUT).
    ci_deadline = fields.DatetimeField(null=True, db_index=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "pipegraph.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    app_id: int
    build_id: int | None
    created_by_id: int | None

    class Meta:
        table = "github_deploys"
