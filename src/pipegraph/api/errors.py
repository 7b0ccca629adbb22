"""The GraphQL face of domain errors: `userErrors` in payloads, and which exceptions reach clients unmasked."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from pipegraph.core.enums import describe_values
from pipegraph.core.errors import ClientError, DomainError, ErrorCode
from pipegraph.db import UNAVAILABLE_MESSAGE, database_unavailable

ErrorCodeEnum = strawberry.enum(
    ErrorCode, name="ErrorCode", description="Why a mutation was refused. Stable: clients may branch on it."
)


@strawberry.type(name="UserError", description="An expected refusal of a mutation: nothing was changed.")
class UserErrorType:
    field: str | None = strawberry.field(description="The input field at fault, when one is.")
    message: str = strawberry.field(description="What was wrong, in words meant for a person.")
    code: ErrorCode = strawberry.field(description="What was wrong, as a stable code.")

    @classmethod
    def from_error(cls, error: DomainError) -> UserErrorType:
        return cls(field=error.field, message=error.message, code=error.code)


def should_mask_error(error: GraphQLError) -> bool:
    """Validation errors and our ClientErrors are meant for the client; anything else is an internal fault."""
    original = error.original_error
    # graphql-core wraps its own request errors (a bad variable, say) in another GraphQLError: unwrap to the cause.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if original is None:
        return False
    return not isinstance(original, GraphQLError | ClientError | DomainError)


class MaskInternalErrors(MaskErrors):
    """Internal faults reach clients as "Internal server error"; a database that is away for a moment is said so, with
    a code clients can retry on."""

    def _process_result(self, result: object) -> None:
        # A result without errors has nothing to mask: skipped before strawberry's check of it against a runtime
        # Protocol, which cost more than building a planned subscription event (api/event_plans.py).
        if getattr(result, "errors", None):
            super()._process_result(result)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not database_unavailable(error.original_error):
            return super().anonymise_error(error)
        return GraphQLError(
            UNAVAILABLE_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "DATABASE_UNAVAILABLE"},
        )


# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    ErrorCode,
    {
        ErrorCode.NOT_FOUND: "Nothing by that name or ID, or nothing the viewer may see.",
        ErrorCode.FORBIDDEN: "The viewer sees it but may not do this.",
        ErrorCode.INVALID: "A value is not acceptable; the message says why.",
        ErrorCode.INVALID_NAME: "Not a valid name: lowercase letters, digits and dashes, 3 to 30, a letter first.",
        ErrorCode.NAME_TAKEN: "Another app, pipeline or team already has that name.",
        ErrorCode.INVALID_STAGE: "Not a stage, or not one that can be given here.",
        ErrorCode.INVALID_STACK: "Not a known stack.",
        ErrorCode.INVALID_CONFIG_VAR: "Not a valid config var name or value.",
        ErrorCode.INVALID_CHECKSUM: "Not a checksum of the form SHA256:<64 hex digits>.",
        ErrorCode.INVALID_PROCESS_TYPES: "Not an object of process names to commands.",
        ErrorCode.APP_ALREADY_IN_PIPELINE: "The app is in a pipeline already: an app is in one pipeline at most.",
        ErrorCode.APP_NOT_IN_PIPELINE: "The app is in no pipeline.",
        ErrorCode.SLUG_NOT_UPLOADED: "The slug's tarball was never uploaded.",
        ErrorCode.SLUG_ALREADY_UPLOADED: "The slug's tarball was uploaded already: slugs are immutable.",
        ErrorCode.SLUG_TOO_LARGE: "The tarball is larger than the server accepts.",
        ErrorCode.CHECKSUM_MISMATCH: "The uploaded bytes do not have the declared checksum.",
        ErrorCode.INVALID_TARBALL: "Not a gzip tarball with ./app/ at its root and nothing outside it.",
        ErrorCode.SLUG_OF_ANOTHER_APP: "The slug belongs to another app.",
        ErrorCode.CANNOT_PROMOTE_FROM_STAGE: "Only apps in development or staging promote by default.",
        ErrorCode.NO_DOWNSTREAM_APPS: "The next stage has no app to promote to.",
        ErrorCode.TARGET_NOT_IN_PIPELINE: "A target is not in the source's pipeline.",
        ErrorCode.TARGET_IS_SOURCE: "An app cannot be promoted to itself.",
        ErrorCode.NO_SUCCEEDED_RELEASE: "The source has no succeeded release to promote.",
        ErrorCode.RELEASE_NOT_SUCCEEDED: "That release did not succeed.",
        ErrorCode.ALREADY_TEAM_MEMBER: "The user is in the team already.",
        ErrorCode.NOT_TEAM_MEMBER: "The user is not in the team.",
        ErrorCode.LAST_TEAM_ADMIN: "A team keeps at least one admin.",
        ErrorCode.TRANSFER_NOT_ALLOWED: "Heroku's transfer rules do not allow this transfer.",
        ErrorCode.NEW_OWNER_NOT_TEAM_MEMBER: "The new owner must be a member of the team involved.",
        ErrorCode.ALREADY_OWNER: "That is the owner already.",
        ErrorCode.AUTO_JOIN_NOT_AVAILABLE: "Auto-join is for team pipelines only.",
        ErrorCode.PERMISSIONS_STATIC: "A Heroku Team's auto-join permissions are fixed.",
        ErrorCode.NO_PIPELINE_ACCESS: "The pipeline's access does not allow this.",
        ErrorCode.INVALID_BUILDPACK: "Not a buildpack: a local folder, a .tgz URL or a git URL, with bin/detect.",
        ErrorCode.INVALID_SOURCE: "The source could not be fetched, or is not a tar.gz of a source tree.",
        ErrorCode.SOURCE_NOT_UPLOADED: "The source's tarball was never uploaded.",
        ErrorCode.SOURCE_ALREADY_UPLOADED: "The source's tarball was uploaded already: sources are immutable.",
        ErrorCode.SOURCE_TOO_LARGE: "The source is larger than the server accepts.",
        ErrorCode.NO_GIT_HISTORY: "An app has no git history to compare: it was never built from git.",
        ErrorCode.BUILD_FAILED: "The build failed; its output says why.",
        ErrorCode.CI_NOT_ENABLED: "The pipeline does not have CI turned on (enableCi).",
        ErrorCode.COMMIT_NOT_FOUND: "No repository of the pipeline has that branch or commit.",
        ErrorCode.TEST_RUN_FINISHED: "The test run already ended.",
        ErrorCode.GITHUB_UNAVAILABLE: "GitHub is not configured here, refused, or could not be reached.",
        ErrorCode.NOT_CONNECTED: "The pipeline is not connected to a GitHub repository.",
        ErrorCode.INVALID_REPOSITORY: "Not a GitHub repository name of the form owner/name.",
        ErrorCode.REVIEW_APPS_NOT_ENABLED: "Review apps are not enabled on the pipeline (enableReviewApps).",
    },
)
