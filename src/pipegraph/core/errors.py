"""One error shape: services raise `DomainError`; mutations turn it into `userErrors { field message code }`."""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """Why a mutation was refused. Stable: clients may branch on it."""

    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    INVALID_NAME = "invalid_name"
    NAME_TAKEN = "name_taken"
    INVALID_STAGE = "invalid_stage"
    INVALID_STACK = "invalid_stack"
    INVALID_CONFIG_VAR = "invalid_config_var"
    INVALID_CHECKSUM = "invalid_checksum"
    INVALID_PROCESS_TYPES = "invalid_process_types"
    APP_ALREADY_IN_PIPELINE = "app_already_in_pipeline"
    APP_NOT_IN_PIPELINE = "app_not_in_pipeline"
    SLUG_NOT_UPLOADED = "slug_not_uploaded"
    SLUG_ALREADY_UPLOADED = "slug_already_uploaded"
    SLUG_TOO_LARGE = "slug_too_large"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    INVALID_TARBALL = "invalid_tarball"
    SLUG_OF_ANOTHER_APP = "slug_of_another_app"
    CANNOT_PROMOTE_FROM_STAGE = "cannot_promote_from_stage"
    NO_DOWNSTREAM_APPS = "no_downstream_apps"
    TARGET_NOT_IN_PIPELINE = "target_not_in_pipeline"
    TARGET_IS_SOURCE = "target_is_source"
    NO_SUCCEEDED_RELEASE = "no_succeeded_release"
    RELEASE_NOT_SUCCEEDED = "release_not_succeeded"
    ALREADY_TEAM_MEMBER = "already_team_member"
    NOT_TEAM_MEMBER = "not_team_member"
    LAST_TEAM_ADMIN = "last_team_admin"
    TRANSFER_NOT_ALLOWED = "transfer_not_allowed"
    NEW_OWNER_NOT_TEAM_MEMBER = "new_owner_not_team_member"
    ALREADY_OWNER = "already_owner"
    AUTO_JOIN_NOT_AVAILABLE = "auto_join_not_available"
    PERMISSIONS_STATIC = "permissions_static"
    NO_PIPELINE_ACCESS = "no_pipeline_access"
    INVALID_BUILDPACK = "invalid_buildpack"
    INVALID_SOURCE = "invalid_source"
    SOURCE_NOT_UPLOADED = "source_not_uploaded"
    SOURCE_ALREADY_UPLOADED = "source_already_uploaded"
    SOURCE_TOO_LARGE = "source_too_large"
    NO_GIT_HISTORY = "no_git_history"
    BUILD_FAILED = "build_failed"
    GITHUB_UNAVAILABLE = "github_unavailable"
    NOT_CONNECTED = "not_connected"
    INVALID_REPOSITORY = "invalid_repository"
    REVIEW_APPS_NOT_ENABLED = "review_apps_not_enabled"


class DomainError(Exception):
    """An expected refusal: reported to the client as data, never as a crash."""

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFound(DomainError):
    def __init__(self, what: str, key: object, *, field: str | None = None) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{what} {key!s} not found", field=field)


class ClientError(Exception):
    """A bad request that is not a domain refusal (for example a `first` over the cap): shown, never masked."""
