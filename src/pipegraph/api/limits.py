"""Depth and alias limits that measure each fragment once.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread of it: fragments that each
spread the next one twice cost 2^n walks, so one 1 KB document held the event loop for seconds (20 deep) or for ever
(40 deep). Here a fragment's depth and alias count are computed once and remembered, so checking a document costs a
walk of its text, whatever it spreads. The limits and their messages mean what strawberry's meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.language import SKIP, DocumentNode, VisitorAction


@dataclass(frozen=True)
class Shape:
    depth: int  # fields nested below this point, a leaf counting 0 (as QueryDepthLimiter counted)
    aliases: int  # aliased fields, a fragment's counted at each spread of it: each spread runs them again
    fields: int  # fields selected once every spread is written out


NOTHING = Shape(0, 0, 0)


class ShapeOf:
    """Measures selection sets, remembering each fragment's shape the first time it is spread."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._known: dict[str, Shape] = {}
        self._open: set[str] = set()

    def fragment(self, name: str) -> Shape:
        known = self._known.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        # An unknown fragment or a cycle is another rule's error (KnownFragmentNames, NoFragmentCycles); counting
        # it as nothing keeps this walk finite on its own.
        if definition is None or name in self._open:
            return NOTHING
        self._open.add(name)
        try:
            shape = self.selections(definition.selection_set)
        finally:
            self._open.discard(name)
        self._known[name] = shape
        return shape

    def selections(self, selection_set: SelectionSetNode | None) -> Shape:
        depth = aliases = fields = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                aliases += 1 if selection.alias else 0
                fields += 1
                if selection.selection_set is None:
                    continue
                inner = self.selections(selection.selection_set)
                aliases += inner.aliases
                fields += inner.fields
                # Introspection (`__schema`, `__type`) is graphql-core's MaxIntrospectionDepthRule's to bound.
                if not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
            else:
                if isinstance(selection, FragmentSpreadNode):
                    inner = self.fragment(selection.name.value)
                elif isinstance(selection, InlineFragmentNode):
                    inner = self.selections(selection.selection_set)
                else:  # pragma: no cover - the grammar has no other selection
                    continue
                depth = max(depth, inner.depth)
                aliases += inner.aliases
                fields += inner.fields
        return Shape(depth, aliases, fields)


def document_limits(*, max_depth: int, max_aliases: int, max_fields: int) -> type[ASTValidationRule]:
    """A validation rule refusing operations nested deeper than `max_depth` fields or selecting more than `max_fields`
    once their fragments are spread, and documents with more than `max_aliases` aliases.

    `max_fields` bounds what fragments multiply: a document spreading fragments twice at each of 40 levels is 1 KB
    of text but 2^40 fields to merge, check and resolve.
    """

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)

        def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
            shape_of = ShapeOf(node)
            aliases = 0
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                shape = shape_of.selections(definition.selection_set)
                aliases += shape.aliases
                name = definition.name.value if definition.name else "anonymous"
                if shape.fields > max_fields:
                    self.report_error(
                        GraphQLError(
                            f"'{name}' selects {shape.fields} fields once its fragments are spread, more than the "
                            f"{max_fields} allowed: spread each fragment fewer times",
                            [definition],
                        )
                    )
                if shape.depth > max_depth:
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}: it nests {shape.depth} "
                            "fields deep",
                            [definition],
                        )
                    )
            if aliases > max_aliases:
                self.report_error(GraphQLError(f"{aliases} aliases found. Allowed: {max_aliases}"))
            return SKIP  # everything was measured above: nothing to visit node by node

    return DocumentLimits
