from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from pipegraph.access.checks import authorized_app
from pipegraph.api.context import Info
from pipegraph.apps.models import App
from pipegraph.core.errors import ClientError, DomainError
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


async def compare_apps(info: Info, app: App, other_reference: str) -> AppComparisonType:
    """A query field, so a refusal is a GraphQL error naming what is wrong (an app not seen reads as not found)."""
    try:
        other = await authorized_app(info.context.access, other_reference, "gitClone", field="with")
        history = await compare(info.context.settings.repo_dir, app, other)
        ahead, behind = await history.ahead_behind()
    except DomainError as error:
        raise ClientError(error.message) from None
    return AppComparisonType(
        commit=history.commit, with_commit=history.other_commit, ahead=ahead, behind=behind, history=history
    )
