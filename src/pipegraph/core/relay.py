"""Relay plumbing shared by every domain: opaque cursors, capped page sizes, connections, references."""

from __future__ import annotations

import base64
import binascii
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

import strawberry
from strawberry import relay
from strawberry.relay.types import GlobalIDValueError
from tortoise.expressions import Q
from tortoise.models import Model

from pipegraph.core.errors import ClientError, NotFound
from pipegraph.core.names import NAME_PATTERN, could_be_name

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Primary keys are BIGINT: a larger number names no row, and must not reach the driver (it overflows there).
MAX_DB_ID = 2**63 - 1
NO_ROW_ID = -1
_DB_ID = re.compile(r"[0-9]{1,19}")

T = TypeVar("T")
N = TypeVar("N", bound=relay.Node)
M = TypeVar("M", bound=Model)

# The arguments of every connection field, described once.
First = Annotated[int | None, strawberry.argument(description="How many to return, at most 100.")]
After = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")]


def page_size(first: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise ClientError(f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {size}")
    return size


def encode_cursor(kind: str, value: object) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The value inside a cursor of this kind; a cursor from elsewhere is a clear error, not a silent restart."""
    if cursor is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ClientError(f"`after` is not a valid cursor: {cursor!r}") from None
    prefix, _, value = decoded.partition(":")
    if prefix != kind or not value:
        raise ClientError(f"`after` is not a cursor of this list: {cursor!r}")
    return value


def decode_name_cursor(kind: str, cursor: str | None) -> str | None:
    """A cursor over apps or pipelines holds a name; one holding something no name can be was not made by us."""
    value = decode_cursor(kind, cursor)
    if value is not None and not NAME_PATTERN.fullmatch(value):
        raise ClientError(f"`after` is not a cursor of this list: {cursor!r}")
    return value


def decode_int_cursor(kind: str, cursor: str | None) -> int | None:
    value = decode_cursor(kind, cursor)
    if value is None:
        return None
    # Only what we encode: a key or a version, never negative or past BIGINT (the driver would overflow on it).
    key = db_id(value)
    if key == NO_ROW_ID:
        raise ClientError(f"`after` is not a cursor of this list: {cursor!r}")
    return key


def build_connection(
    rows: Sequence[T],
    *,
    first: int,
    cursor_of: Callable[[T], str],
    node_of: Callable[[T], N],
    has_previous_page: bool,
) -> relay.Connection[N]:
    """A connection from up to `first + 1` rows: the extra row only tells that there is a next page."""
    page = list(rows[:first])
    edges = [relay.Edge(node=node_of(row), cursor=cursor_of(row)) for row in page]
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


@dataclass(frozen=True)
class Ref:
    """A reference given by a client: a global ID of `type_name`, or a name."""

    id: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        return self.name if self.name is not None else f"#{self.id}"


def db_id(node_id: str) -> int:
    """The primary key inside a global ID; one that cannot be a key maps to an id no row has."""
    if not _DB_ID.fullmatch(node_id):
        return NO_ROW_ID
    value = int(node_id)
    return value if value <= MAX_DB_ID else NO_ROW_ID


async def node_by_id(
    info: strawberry.Info[Any, Any],
    id: Annotated[strawberry.ID, strawberry.argument(description="A global ID, as any object's `id` gives it.")],
) -> relay.Node | None:
    """`node(id:)`: an ID that names nothing, malformed or of an unknown type included, is null, not an error."""
    try:
        global_id = relay.GlobalID.from_id(id)
        node_type = global_id.resolve_type(info)
    except GlobalIDValueError:
        return None
    if info.context.settings.compiled_reads:
        from pipegraph.reads.executor import read_node  # the compiled reads build on this module: imported late

        compiled = await read_node(info, global_id.type_name, db_id(global_id.node_id))
        if compiled is not None:
            return cast(relay.Node, compiled)  # finished: CompiledReadsExecutionContext hands it on as it is
    node = node_type.resolve_node(global_id.node_id, info=info, required=False)
    resolved: relay.Node | None = await node if inspect.isawaitable(node) else node
    return resolved


def parse_ref(value: str, type_name: str) -> Ref:
    """Accept a name or a global ID, so clients can pass whichever they hold."""
    try:
        global_id = relay.GlobalID.from_id(value)
    except Exception:  # not base64 or no "Type:id" inside: a name
        return Ref(name=value)
    if global_id.type_name != type_name:
        return Ref(name=value)
    key = db_id(global_id.node_id)
    # An ID of the right type whose key cannot exist is looked up as given, so "not found" shows what was sent.
    return Ref(name=value) if key == NO_ROW_ID else Ref(id=key)


async def get_by_reference(model: type[M], reference: str, *, field: str) -> M:
    """The row a client named by global ID, or by name for models that have one; NotFound naming what was sent.

    The model's class name is its GraphQL type name (App, Pipeline, Team, Slug), as global IDs carry it.
    """
    row = (await rows_by_reference(model, [reference])).get(reference)
    if row is None:
        raise not_found(model, reference, field=field)
    return row


async def rows_by_reference(model: type[M], references: Sequence[str]) -> dict[str, M]:
    """The rows `references` name, as get_by_reference finds each, in one statement; a reference that names none is
    left out (`not_found` is its refusal)."""
    refs = {reference: parse_ref(reference, model.__name__) for reference in references}
    ids = [ref.id for ref in refs.values() if ref.id is not None]
    names = [ref.name for ref in refs.values() if _by_name(model, ref)]
    wanted = [*([Q(id__in=ids)] if ids else []), *([Q(name__in=names)] if names else [])]
    if not wanted:
        return {}
    rows = await model.filter(Q(*wanted, join_type=Q.OR))
    by_id = {row.pk: row for row in rows}
    by_name = {getattr(row, "name"): row for row in rows} if names else {}  # noqa: B009 (only named models: not M's)
    found = {
        reference: by_id.get(ref.id) if ref.id is not None else by_name.get(ref.name) for reference, ref in refs.items()
    }
    return {reference: row for reference, row in found.items() if row is not None}


def not_found(model: type[Model], reference: str, *, field: str) -> NotFound:
    type_name = model.__name__
    return NotFound(type_name.lower(), parse_ref(reference, type_name) if _named(model) else reference, field=field)


def _named(model: type[Model]) -> bool:
    return "name" in model._meta.fields_map


def _by_name(model: type[Model], ref: Ref) -> bool:
    """Whether `ref` is looked up by name: a name that could be one, of a model that has names."""
    return _named(model) and ref.name is not None and could_be_name(ref.name)
