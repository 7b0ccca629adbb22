"""The model enums, exposed as GraphQL enums as they are (one definition, no mapping to keep in step)."""

import strawberry

from pipegraph.pipelines.models import Stage

StageEnum = strawberry.enum(Stage, name="Stage", description="Pipeline stages, in delivery order.")
