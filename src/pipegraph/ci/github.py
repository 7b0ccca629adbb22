"""Pipeline CI on GitHub: a push to a connected repository starts a test run of the pushed commit in every pipeline
connected to it that has CI on (its statuses go back to the commit: reporting.py)."""

from __future__ import annotations

from pipegraph.ci.commits import Commit, pipeline_apps
from pipegraph.ci.service import ci_settings, start_test_run
from pipegraph.github.events import Handled, PushEvent, on_push
from pipegraph.pipelines.models import Pipeline


@on_push
async def test_pushed_commit(push: PushEvent) -> Handled:
    handled = Handled()
    started: list[str] = []
    for connection in push.event.connections:
        ci = await ci_settings(connection.pipeline_id)
        if ci is None or not ci.enabled:
            continue
        pipeline = await Pipeline.get(id=connection.pipeline_id)
        apps = await pipeline_apps(pipeline)
        run, _, jobs = await start_test_run(
            pipeline=pipeline,
            commit=Commit(sha=push.sha, branch=push.branch, message=push.message or None),
            source_app=apps[0] if apps else None,  # its buildpacks build the commit, unless app.json names others
            source=None,  # the run's first step fetches GitHub's tarball of it
            actor=None,  # who pushed is a GitHub account, not a pipegraph user: kept by login
            actor_login=push.pusher,
            repository=connection.full_name,
        )
        handled.jobs += jobs
        started.append(f"test run #{run.number} of {pipeline.name}")
    handled.note = ", ".join(started)
    return handled
