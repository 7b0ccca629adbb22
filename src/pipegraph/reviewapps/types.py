"""The GraphQL face of review and CI apps: they are Apps (`ephemeral: true`); only their kind is theirs."""

from __future__ import annotations

import strawberry

from pipegraph.reviewapps.service import EphemeralKind

EphemeralKindEnum = strawberry.enum(
    EphemeralKind, name="EphemeralAppKind", description="REVIEW apps sit in the review stage, CI apps in test."
)
