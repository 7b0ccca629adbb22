"""app.json's scripts (`postdeploy`, `pr-predestroy`), run on the review app's current release."""

from __future__ import annotations

from pathlib import Path

from pipegraph.apps.models import App
from pipegraph.jobs.runtime import Runtime
from pipegraph.releases.models import Release
from pipegraph.releases.phase import ReleasePhaseRequest
from pipegraph.slugs.models import Slug


async def _current_slug_blob(app: App, runtime: Runtime) -> tuple[Slug, Path] | None:
    release = await Release.filter(app_id=app.id, is_current=True).first()
    if release is None:
        return None
    slug = await Slug.get(id=release.slug_id)
    if slug.digest is None:
        return None
    return slug, runtime.slug_store.path_for(slug.digest)


async def run_script(app: App, command: str, runtime: Runtime) -> tuple[bool, str]:
    """An app.json script, in the sandbox every app command runs in, on the app's current slug with its config."""
    found = await _current_slug_blob(app, runtime)
    if found is None:
        return False, "the app has no current release to run it on"
    slug, blob = found
    lines: list[str] = []

    async def keep(line: str) -> None:
        lines.append(line)

    request = ReleasePhaseRequest(
        blob=blob,
        command=command,
        config_vars={str(k): str(v) for k, v in app.config_vars.items()},
        stack=app.stack,
        commit=slug.commit,
        timeout=runtime.settings.release_phase_timeout,
    )
    result = await runtime.runner.run(request, keep)
    problem = None if result.succeeded else result.error_message(request.timeout)
    output = "\n".join(result.lines or lines)
    return problem is None, output if problem is None else f"{output}\n{problem}".strip()
