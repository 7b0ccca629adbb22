"""The GraphQL face of review and CI apps: they are Apps (`ephemeral: true`); only their kind is theirs."""

from __future__ import annotations

import strawberry

from pipegraph.core.enums import describe_values
from pipegraph.reviewapps.service import EphemeralKind

EphemeralKindEnum = strawberry.enum(
    EphemeralKind, name="EphemeralAppKind", description="REVIEW apps sit in the review stage, CI apps in test."
)

# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    EphemeralKind,
    {
        EphemeralKind.REVIEW: "A review app, for a pull request.",
        EphemeralKind.CI: "A CI app, for a test run.",
    },
)
