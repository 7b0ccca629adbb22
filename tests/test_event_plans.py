"""Subscription events built without graphql-core (api/event_plans.py) are exactly what graphql-core answers, for
every selection the plans take; any other selection is left to graphql-core. (`database`: the models need tortoise
set up, not a row.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import ExecutionResult, OperationDefinitionNode, execute_subscription_event, parse
from graphql.execution import Executor

from pipegraph.api.event_plans import event_plan
from pipegraph.promotions.models import TargetStatus, TargetStep
from pipegraph.promotions.types import PromotionProgressType
from pipegraph.schema import schema
from pipegraph.streams.promotion import TargetState

PLANNED = [
    "subscription($id: ID!) { promotionProgress(id: $id) { step sequence target { id updatedAt } } }",
    """subscription($id: ID!) { p: promotionProgress(id: $id) {
        __typename s: status step errorMessage sequence
        target { __typename id status step errorMessage updatedAt at: updatedAt } } }""",
    'subscription { promotionProgress(id: "x") { sequence } }',
]
NOT_PLANNED = [
    "subscription($id: ID!) { promotionProgress(id: $id) { step ... on PromotionProgress { sequence } } }",
    "subscription($id: ID!) { promotionProgress(id: $id) { step ...f } } fragment f on PromotionProgress { sequence }",
    "subscription($id: ID!, $s: Boolean!) { promotionProgress(id: $id) { step sequence @include(if: $s) } }",
    "subscription($id: ID!) { promotionProgress(id: $id) { step target { app { name } } } }",
    "subscription($id: ID!) { promotionProgress(id: $id) { release { version } } }",
    "subscription($id: ID!) { promotionProgress(id: $id) { step step } }",
    "subscription($id: ID!) { promotionProgress(id: $id) { __typename } promotionProgress2: promotionProgress(id: $id) "
    "{ step } }",
    "subscription($id: ID!) { __typename }",
]


def _events() -> list[PromotionProgressType]:
    running = TargetState(
        id=7,
        promotion_id=3,
        app_id=11,
        status=TargetStatus.RUNNING,
        step=TargetStep.COPYING_SLUG,
        error_message=None,
        release_id=None,
        sequence=2,
        updated_at=datetime(2026, 11, 27, 17, 0, 1, 123456, tzinfo=UTC),
    )
    failed = replace(running, id=12345678901, status=TargetStatus.FAILED, step=TargetStep.DONE, sequence=6)
    failed = replace(failed, error_message='release phase failed: "é"', updated_at=datetime(2026, 11, 27, tzinfo=UTC))
    undated = PromotionProgressType.from_model(failed)
    undated.target.updated_at = None  # nullable in the schema: as a target read before it had one
    return [
        PromotionProgressType.from_model(running),
        PromotionProgressType.from_model(failed),
        undated,
    ]


def _operation(document: str) -> OperationDefinitionNode:
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation


def _graphql_core(document: str, event: Any) -> Any:
    executor = Executor.build(schema._schema, parse(document), raw_variable_values={"id": "x", "s": True})
    assert isinstance(executor, Executor), executor
    result = execute_subscription_event(executor.build_per_event_executor(event))
    assert isinstance(result, ExecutionResult), result  # plain fields: nothing awaited
    return result


@pytest.mark.parametrize("document", PLANNED)
async def test_a_planned_selection_answers_what_graphql_core_answers(database: str, document: str) -> None:
    plan = event_plan(schema._schema, _operation(document))
    assert plan is not None
    for event in _events():
        expected = _graphql_core(document, event)
        assert expected.errors is None
        assert plan.data(event) == expected.data


@pytest.mark.parametrize("document", NOT_PLANNED)
def test_other_selections_are_left_to_graphql_core(document: str) -> None:
    assert event_plan(schema._schema, _operation(document)) is None


async def test_a_null_the_schema_forbids_is_left_to_graphql_core(database: str) -> None:
    event = _events()[0]
    event.sequence = None  # type: ignore[assignment]
    plan = event_plan(schema._schema, _operation(PLANNED[0]))
    assert plan is not None
    assert plan.data(event) is None


async def test_a_nested_object_of_another_class_is_left_to_graphql_core(database: str) -> None:
    event = _events()[0]
    event.target = _events()[1]  # type: ignore[assignment]  # a PromotionProgress where a PromotionTarget belongs
    plan = event_plan(schema._schema, _operation(PLANNED[0]))
    assert plan is not None
    assert plan.data(event) is None
