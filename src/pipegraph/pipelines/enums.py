"""The model enums, exposed as GraphQL enums as they are (one definition, no mapping to keep in step)."""

import strawberry

from pipegraph.core.enums import describe_values
from pipegraph.pipelines.models import Stage

StageEnum = strawberry.enum(Stage, name="Stage", description="Pipeline stages, in delivery order.")

# What each value means, in the schema's documentation (the classes are the models' too: see describe_values).
describe_values(
    Stage,
    {
        Stage.TEST: "CI apps.",
        Stage.REVIEW: "Review apps.",
        Stage.DEVELOPMENT: "Development.",
        Stage.STAGING: "Staging.",
        Stage.PRODUCTION: "Production.",
    },
)
