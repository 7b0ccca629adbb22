"""Small shell buildpacks and source trees written by the tests, and sources stored the way createSource does."""

from __future__ import annotations

import tarfile
from pathlib import Path

from pipegraph.sandbox.host import WARNING
from pipegraph.settings import Settings
from pipegraph.sources import service as sources
from pipegraph.sources.models import Source
from pipegraph.sources.store import LocalSourceStore
from tests.support.tarballs import entry, tarball

PROCFILE_APP = {
    "Procfile": "web: ./bin/web\nrelease: echo migrating $MODE\n",
    "bin/web": "#!/bin/sh\necho serving\n",
}


def write_buildpack(
    root: Path, *, detect: str = "echo Shell", compile: str = "true", release: str | None = None
) -> Path:
    """A classic buildpack whose scripts are the given shell snippets."""
    root.mkdir(parents=True, exist_ok=True)
    scripts = {"detect": detect, "compile": compile}
    if release is not None:
        scripts["release"] = release
    for name, body in scripts.items():
        path = root / "bin" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return root


def source_tarball(files: dict[str, str], *, top: str | None = None) -> bytes:
    """A tar.gz of a source tree, optionally under one top-level folder as GitHub's archives are."""
    return tarball(files, root=f"{top}/" if top else "")


# The one entry of each kind that escapes the folder an archive is extracted into.
_ESCAPES = {
    "dotdot": entry("../evil"),
    "absolute": entry("/tmp/evil"),
    "symlink": entry("escape", kind=tarfile.SYMTYPE, link="../../../etc/passwd"),
}


def hostile_tarball(kind: str) -> bytes:
    """A tarball with one entry escaping the folder it is extracted into."""
    return tarball({"Procfile": "web: true\n"}, root="", entries=[_ESCAPES[kind]])


async def stored_source(settings: Settings, *, app_id: int, data: bytes) -> str:
    """A source stored as createSource and its PUT would, and the URL a build names it by."""

    async def chunks():  # type: ignore[no-untyped-def]
        yield data

    source = await Source.create(app_id=app_id)
    store = LocalSourceStore(settings.source_dir)
    await sources.receive_blob(source, chunks(), store=store, max_bytes=settings.source_max_bytes)
    return sources.get_url(settings, source)


def output_lines(output: str) -> list[str]:
    """A build's lines without the unsandboxed warning, which only a suite run without bubblewrap shows."""
    return [line for line in output.splitlines() if line != WARNING]
