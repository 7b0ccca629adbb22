from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry import relay
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from pipegraph.api.context import Info
from pipegraph.api.nodes import Keyset, keyset_page
from pipegraph.apps.loaders import app_by_name
from pipegraph.apps.models import App
from pipegraph.apps.types import AppType
from pipegraph.core.names import could_be_name
from pipegraph.core.relay import After, First
from pipegraph.pipelines.models import PipelineCoupling
from pipegraph.reads.executor import read_app, read_apps

APPS = Keyset.by_name("app")


@strawberry.type
class AppQueries:
    @strawberry.field(
        description="An app by name, whether or not it is in a pipeline; null if the viewer cannot see it."
    )
    async def app(
        self, info: Info, name: Annotated[str, strawberry.argument(description="The app's name.")]
    ) -> AppType | None:
        if not could_be_name(name):
            return None
        if info.context.settings.compiled_reads:
            compiled = await read_app(info, name=name)
            if compiled is not None:
                return cast(AppType, compiled)  # finished: CompiledReadsExecutionContext hands it on as it is
        app = await info.context.loaders[app_by_name].load(name)
        return AppType.from_model(app) if app and await info.context.access.can_view_app(app) else None

    @strawberry.field(
        description="Apps the viewer sees, by name. `inPipeline: false` lists loose apps, `true` the coupled ones."
    )
    async def apps(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        in_pipeline: Annotated[
            bool | None,
            strawberry.argument(
                description="false: only apps outside any pipeline; true: only apps in one; null: all."
            ),
        ] = None,
    ) -> relay.Connection[AppType]:
        query = App.filter(await info.context.access.visible_apps()).order_by("name")
        if in_pipeline is not None:
            coupled = Subquery(PipelineCoupling.all().values("app_id"))
            query = query.filter(id__in=coupled) if in_pipeline else query.exclude(id__in=coupled)

        def page(limit: int, after_name: str | None) -> QuerySet[App]:
            return (query if after_name is None else query.filter(name__gt=after_name)).limit(limit)

        async def fetch(limit: int, after_name: str | None) -> list[App]:
            return await page(limit, after_name)

        def page_ids(limit: int, after_name: str | None) -> Any:
            return page(limit, after_name).values_list("id", flat=True)

        if info.context.settings.compiled_reads:
            compiled = await read_apps(info, APPS, first=first, after=after, page_ids=page_ids)
            if compiled is not None:
                return cast(relay.Connection[AppType], compiled)

        return await keyset_page(
            APPS, first=first, after=after, fetch=fetch, key=lambda app: app.name, node_of=AppType.from_model
        )
