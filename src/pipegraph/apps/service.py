"""Apps: creation under Heroku's name rule, config vars, collaborators, and look-up by name or global ID."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from pipegraph.access.rules import Permission, required_permissions
from pipegraph.accounts.models import User
from pipegraph.apps.models import App, AppCollaborator
from pipegraph.core.errors import DomainError, ErrorCode, NotFound
from pipegraph.core.names import validate_name
from pipegraph.streams.notices import AccessNotice, announce
from pipegraph.teams.models import Team

STACK_PATTERN = re.compile(r"^[a-z][a-z0-9.-]{1,39}$")
CONFIG_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
CONFIG_VALUE_MAX = 32 * 1024


def validate_stack(stack: str, *, field: str = "stack") -> str:
    if not STACK_PATTERN.fullmatch(stack):
        raise DomainError(
            ErrorCode.INVALID_STACK,
            f"stack {stack!r} is invalid: use lowercase letters, digits, dots and dashes, like heroku-24",
            field=field,
        )
    return stack


async def create_app(*, owner: User, name: str, stack: str | None, default_stack: str, team: Team | None = None) -> App:
    """A personal app of `owner`, or, given a team, the team's app (`owner` is then who created it)."""
    validate_name(name, what="app")
    stack = validate_stack(default_stack if stack is None else stack)
    if await App.exists(name=name):
        raise DomainError(ErrorCode.NAME_TAKEN, f"app name {name!r} is already taken", field="name")
    try:
        return await App.create(name=name, owner=owner, team=team, stack=stack, config_vars={})
    except IntegrityError:  # lost a race for the name: the unique constraint decided
        raise DomainError(ErrorCode.NAME_TAKEN, f"app name {name!r} is already taken", field="name") from None


def validated_config_changes(changes: Mapping[str, object]) -> dict[str, str | None]:
    validated: dict[str, str | None] = {}
    for key, value in changes.items():
        if not CONFIG_KEY_PATTERN.fullmatch(key):
            raise DomainError(
                ErrorCode.INVALID_CONFIG_VAR,
                f"config var name {key!r} is invalid: use letters, digits and underscores, not starting with a digit",
                field="vars",
            )
        if value is not None and not isinstance(value, str):
            raise DomainError(
                ErrorCode.INVALID_CONFIG_VAR,
                f"config var {key} must be a string or null (null unsets it), got {type(value).__name__}",
                field="vars",
            )
        if value is not None and "\x00" in value:
            raise DomainError(
                ErrorCode.INVALID_CONFIG_VAR,
                f"config var {key} must not contain a NUL character (no environment variable can)",
                field="vars",
            )
        if value is not None and len(value) > CONFIG_VALUE_MAX:
            raise DomainError(
                ErrorCode.INVALID_CONFIG_VAR,
                f"config var {key} is longer than {CONFIG_VALUE_MAX} bytes",
                field="vars",
            )
        validated[key] = value
    return validated


def applied(current: Mapping[str, Any], validated: Mapping[str, str | None]) -> dict[str, Any]:
    """`current` with validated changes made: a None value unsets its var."""
    merged = dict(current)
    for key, value in validated.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def set_config_vars(app: App, changes: Mapping[str, object]) -> App:
    """Set the given vars; a null value unsets one. All or nothing: one bad var changes nothing."""
    validated = validated_config_changes(changes)
    async with in_transaction():
        # Locked read-modify-write: two concurrent edits of different vars must both survive.
        locked = await App.select_for_update().get(id=app.id)
        locked.config_vars = applied(locked.config_vars, validated)
        await locked.save(update_fields=["config_vars", "updated_at"])
    return locked


async def set_collaborator(
    app: App, user: User, permissions: Iterable[Permission], *, redis_url: str | None = None
) -> AppCollaborator:
    """Add the user to the app, or replace their permissions when they already are on it; returns once open
    WebSockets heard of it through `redis_url` (streams/notices.py)."""
    stored = required_permissions(permissions)
    async with in_transaction():
        collaborator = await AppCollaborator.select_for_update().get_or_none(app_id=app.id, user_id=user.id)
        if collaborator is None:
            try:
                collaborator = await AppCollaborator.create(app=app, user=user, permissions=stored)
            except IntegrityError:
                raise DomainError(
                    ErrorCode.INVALID, f"{user.email} was just added to {app.name}", field="user"
                ) from None
        else:
            collaborator.permissions = stored
            await collaborator.save(update_fields=["permissions"])
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))
    return collaborator


async def remove_collaborator(app: App, user: User, *, redis_url: str | None = None) -> None:
    """Returns once open WebSockets heard of it: the user's subscriptions on the app get no further event."""
    deleted = await AppCollaborator.filter(app_id=app.id, user_id=user.id).delete()
    if not deleted:
        raise NotFound("collaborator", user.email, field="user")
    await announce(redis_url, AccessNotice(users=frozenset({user.id})))
