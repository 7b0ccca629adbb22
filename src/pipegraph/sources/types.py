from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias

import strawberry

from pipegraph.access.checks import authorized_app
from pipegraph.api.context import Info
from pipegraph.apps.models import App
from pipegraph.core.errors import ClientError, DomainError, ErrorCode
from pipegraph.sources.history import History, compare


@strawberry.type(name="Commit", description="A git commit, as the app's repository records it.")
class CommitType:
    sha: str = strawberry.field(description="The commit's full hash.")
    message: str = strawberry.field(description="The subject line.")
    author: str = strawberry.field(description="Name <email>.")
    date: datetime = strawberry.field(description="When it was committed.")


@strawberry.type(name="AppComparison", description="How an app's deployed commit relates to another app's.")
class AppComparisonType:
    commit: str = strawberry.field(description="This app's deployed commit.")
    with_commit: str = strawberry.field(description="The other app's deployed commit.")
    ahead: int = strawberry.field(description="Commits deployed here and not on the other app.")
    behind: int = strawberry.field(description="Commits deployed on the other app and not here.")
    history: strawberry.Private[History]

    @strawberry.field(description="The commits deployed here and not on the other app, newest first (≤ 100).")
    async def commits(
        self, first: Annotated[int, strawberry.argument(description="How many commits to list.")] = 20
    ) -> list[CommitType]:
        return [
            CommitType(sha=c.sha, message=c.message, author=c.author, date=c.date)
            for c in await self.history.commits(first)
        ]


@strawberry.type(
    name="NotComparable",
    description="Why two apps' deployed code cannot be compared from git: an answer, not an error.",
)
class NotComparableType:
    reason: str = strawberry.field(
        description="Why, in words meant for a person: which app runs no pushed commit, or which commit the "
        "repositories pipegraph holds lack."
    )
    code: ErrorCode = strawberry.field(description="Why, as a stable code (NO_GIT_HISTORY).")


AppComparisonResult: TypeAlias = Annotated[
    AppComparisonType | NotComparableType,
    strawberry.union(
        "AppComparisonResult",
        description="How two apps' deployed commits relate (AppComparison), or why git cannot tell (NotComparable).",
    ),
]


async def compare_apps(info: Info, app: App, other_reference: str) -> AppComparisonType | NotComparableType:
    """An app not seen, or not cloneable, is bad input: a GraphQL error naming it (it reads as not found). Apps
    without a git commit in common history are an answer: NotComparable, with the reason."""
    try:
        other = await authorized_app(info.context.access, other_reference, "gitClone", field="with")
    except DomainError as error:
        raise ClientError(error.message) from None
    try:
        history = await compare(info.context.settings.repo_dir, app, other)
        ahead, behind = await history.ahead_behind()
    except DomainError as error:
        return NotComparableType(reason=error.message, code=error.code)
    return AppComparisonType(
        commit=history.commit, with_commit=history.other_commit, ahead=ahead, behind=behind, history=history
    )


async def compare_apps_or_raise(info: Info, app: App, other_reference: str) -> AppComparisonType:
    """`compare`'s older contract, kept for the clients that use it: not comparable is a GraphQL error."""
    compared = await compare_apps(info, app, other_reference)
    if isinstance(compared, NotComparableType):
        raise ClientError(compared.reason)
    return compared
