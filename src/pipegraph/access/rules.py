"""Who may do what: the one table every authorization check reads (the README shows the same table).

Rights come from three places: owning a thing personally, a role in the team that owns it, and explicit app
collaborator permissions; as on Heroku, any app permission includes view. Something a viewer cannot even see is
reported as not found, never as forbidden, so a refusal does not leak that it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.teams.models import TeamRole


class Permission(StrEnum):
    """Heroku's app permissions, each a capability of its own."""

    VIEW = "view"
    DEPLOY = "deploy"
    OPERATE = "operate"
    MANAGE = "manage"


def stored_permissions(permissions: Iterable[Permission]) -> list[str]:
    """Permissions as stored: deduplicated, in Heroku's order."""
    chosen = set(permissions)
    return [permission.value for permission in Permission if permission in chosen]


def required_permissions(permissions: Iterable[Permission], *, field: str = "permissions") -> list[str]:
    """As stored, refusing an empty list: a grant of nothing is a mistake, not a way to remove one."""
    stored = stored_permissions(permissions)
    if not stored:
        raise DomainError(
            ErrorCode.INVALID, "give at least one permission (VIEW, DEPLOY, OPERATE or MANAGE)", field=field
        )
    return stored


ALL_PERMISSIONS = frozenset(Permission)

# What a role in the owning team gives on every app of that team. Collaborators get only what is shared with them.
TEAM_ROLE_APP_PERMISSIONS: dict[TeamRole, frozenset[Permission]] = {
    TeamRole.ADMIN: ALL_PERMISSIONS,
    TeamRole.MEMBER: frozenset({Permission.VIEW, Permission.DEPLOY, Permission.OPERATE}),
    TeamRole.COLLABORATOR: frozenset(),
}


class PipelineRight(StrEnum):
    VIEW = "view"  # sees the pipeline: MEMBER, any permission on one of its apps, or a grant of its Access tab
    MEMBER = "member"  # its personal owner, or an admin or member of the team that owns it
    ADMIN = "admin"  # its personal owner, or an admin of the team that owns it


class TeamRight(StrEnum):
    MEMBER = "member"  # an admin or member of the team (collaborators are not)
    ADMIN = "admin"


@dataclass(frozen=True)
class Rule:
    """What an operation needs on each object it names; None: nothing on that object."""

    app: Permission | None = None
    pipeline: PipelineRight | None = None
    team: TeamRight | None = None
    note: str = ""


RULES: dict[str, Rule] = {
    # Apps and deploys
    "createApp": Rule(team=TeamRight.MEMBER, note="a personal app needs nothing more; a team app, team membership"),
    "setConfigVars": Rule(app=Permission.DEPLOY),
    "createSlug": Rule(app=Permission.DEPLOY),
    "createRelease": Rule(app=Permission.DEPLOY),
    "rollback": Rule(app=Permission.DEPLOY),
    "promote": Rule(app=Permission.VIEW, note="view on the source; deploy on every target (promoteInto)"),
    "promoteInto": Rule(app=Permission.DEPLOY),
    "createSource": Rule(app=Permission.DEPLOY),
    "createBuild": Rule(app=Permission.DEPLOY),
    "setBuildpacks": Rule(app=Permission.DEPLOY),
    "gitPush": Rule(app=Permission.DEPLOY, note="`git push` to /git/<app>.git: builds and releases main or master"),
    "gitClone": Rule(app=Permission.VIEW, note="`git clone` of /git/<app>.git"),
    "addAppCollaborator": Rule(app=Permission.MANAGE),
    "removeAppCollaborator": Rule(app=Permission.MANAGE),
    # Pipelines and couplings
    "createPipeline": Rule(app=Permission.MANAGE, team=TeamRight.MEMBER, note="team: for a team pipeline"),
    "renamePipeline": Rule(pipeline=PipelineRight.ADMIN),
    "destroyPipeline": Rule(pipeline=PipelineRight.ADMIN),
    "addAppToPipeline": Rule(app=Permission.MANAGE, pipeline=PipelineRight.MEMBER),
    "removeAppFromPipeline": Rule(app=Permission.MANAGE),
    "moveAppToStage": Rule(app=Permission.MANAGE),
    "transferPipeline": Rule(pipeline=PipelineRight.ADMIN, note="plus Heroku's transfer rules on the new owner"),
    "transferAppsToPipelineOwner": Rule(pipeline=PipelineRight.ADMIN, app=Permission.MANAGE, note="manage on each app"),
    # Ephemeral (review and CI) app access: team admins, or the owner of a personal pipeline
    "grantPipelineAccess": Rule(pipeline=PipelineRight.ADMIN),
    "revokePipelineAccess": Rule(pipeline=PipelineRight.ADMIN),
    "updatePipelineAutoJoin": Rule(pipeline=PipelineRight.ADMIN),
    "createEphemeralApp": Rule(
        note="a pipeline admin or member, or pipeline access allowing create review / CI apps (EPHEMERAL_CAPABILITIES)"
    ),
    # CI: the seed's table (EPHEMERAL_CAPABILITIES) for anyone but pipeline admins
    "enableCi": Rule(note="a pipeline admin, or pipeline access allowing enable ci (manage only)"),
    "disableCi": Rule(note="as enableCi"),
    "createTestRun": Rule(note="a pipeline admin or member, or pipeline access allowing create ci apps"),
    "rerunTestRun": Rule(note="as createTestRun, in the run's pipeline (a run not seen is not found)"),
    "cancelTestRun": Rule(note="a pipeline admin, or pipeline access allowing cancel ci runs (manage only)"),
    # GitHub: connected repositories, automatic deploys, review apps and stage config vars
    "connectRepository": Rule(pipeline=PipelineRight.ADMIN),
    "disconnectRepository": Rule(pipeline=PipelineRight.ADMIN),
    "enableAutomaticDeploys": Rule(app=Permission.DEPLOY, note="the app's pipeline must be connected"),
    "deployBranch": Rule(app=Permission.DEPLOY),
    "enableReviewApps": Rule(pipeline=PipelineRight.ADMIN),
    "disableReviewApps": Rule(pipeline=PipelineRight.ADMIN),
    "createReviewApp": Rule(
        note="as createEphemeralApp: a pipeline admin or member, or access allowing create review apps"
    ),
    "deleteReviewApp": Rule(
        note="a pipeline admin or member, or pipeline access allowing delete review apps (EPHEMERAL_CAPABILITIES)"
    ),
    "setStageConfigVars": Rule(pipeline=PipelineRight.MEMBER, note="REVIEW or TEST: what new review and CI apps get"),
    # Teams
    "createTeam": Rule(note="anyone signed in; the creator becomes its admin"),
    "addTeamMember": Rule(team=TeamRight.ADMIN),
    "removeTeamMember": Rule(team=TeamRight.ADMIN, note="members may also leave by removing themselves"),
    "setTeamMemberRole": Rule(team=TeamRight.ADMIN, note="a team keeps at least one admin"),
    # Tokens: each user manages only their own
    "createApiToken": Rule(note="for the viewer"),
    "revokeApiToken": Rule(note="the viewer's own tokens"),
}

# What each object type shows to whom (queries, nested fields, node(id:) and subscriptions alike).
VISIBILITY: dict[str, str] = {
    "App": "its personal owner, admins and members of its team, and its collaborators",
    "Pipeline": (
        "its personal owner, admins and members of its team, whoever sees one of its apps, and whoever holds a grant "
        "of its Access tab (not its apps)"
    ),
    "Release, Slug, Build": "whoever sees their app",
    "TestRun": "whoever sees its pipeline, or holds any pipeline access on it (the seed's View tests)",
    "Promotion": "whoever sees its pipeline; its targets show only apps the viewer sees",
    "Team": "its admins, members and collaborators",
    # As on Heroku, the people one meets through what one sees; `node(id:)` and every field returning a user agree.
    "User": (
        "the viewer; whoever shares a team with them; whoever sees an app they own personally, collaborate on, "
        "released to or built, or a pipeline they own personally, promoted or started a test run in, or were party "
        "to a transfer of; and a pipeline's admins and members, for those granted access to it"
    ),
}


class EphemeralAction(StrEnum):
    """What a pipeline-level permission allows on review and CI apps (the seed's permission table)."""

    VIEW_PULL_REQUESTS = "view pull requests"
    VIEW_REVIEW_APPS = "view review apps"
    OPEN_REVIEW_APPS = "open review apps"
    CREATE_REVIEW_APPS = "create review apps"
    DELETE_REVIEW_APPS = "delete review apps"
    SEE_BUILD_INFORMATION = "see build information"
    EDIT_CONFIG_VARS = "edit config vars"
    VIEW_TESTS = "view tests"
    CREATE_CI_APPS = "create ci apps"
    ENABLE_CI = "enable ci"
    CANCEL_CI_RUNS = "cancel ci runs"


_V, _D, _O, _M = Permission.VIEW, Permission.DEPLOY, Permission.OPERATE, Permission.MANAGE

# Which pipeline-level permissions allow each action (Heroku's "Permissions and capabilities" table).
EPHEMERAL_CAPABILITIES: dict[EphemeralAction, frozenset[Permission]] = {
    EphemeralAction.VIEW_PULL_REQUESTS: frozenset({_V, _D, _O, _M}),
    EphemeralAction.VIEW_REVIEW_APPS: frozenset({_V, _D, _O, _M}),
    EphemeralAction.OPEN_REVIEW_APPS: frozenset({_V, _D, _O, _M}),
    EphemeralAction.CREATE_REVIEW_APPS: frozenset({_V, _D, _O, _M}),
    EphemeralAction.DELETE_REVIEW_APPS: frozenset({_V, _D, _O, _M}),
    EphemeralAction.SEE_BUILD_INFORMATION: frozenset({_D, _O, _M}),
    EphemeralAction.EDIT_CONFIG_VARS: frozenset({_D, _O, _M}),
    EphemeralAction.VIEW_TESTS: frozenset({_V, _D, _O, _M}),
    EphemeralAction.CREATE_CI_APPS: frozenset({_O, _M}),
    EphemeralAction.ENABLE_CI: frozenset({_M}),
    EphemeralAction.CANCEL_CI_RUNS: frozenset({_M}),
}


# On an ephemeral app, these operations are decided by the table above instead of their Rule's app permission.
EPHEMERAL_RULES: dict[str, EphemeralAction] = {
    "setConfigVars": EphemeralAction.EDIT_CONFIG_VARS,
}


def ephemeral_allows(permissions: frozenset[Permission], action: EphemeralAction) -> bool:
    return bool(permissions & EPHEMERAL_CAPABILITIES[action])
