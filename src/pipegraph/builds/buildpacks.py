"""Buildpack references and where their files come from: built in, a local folder, a `.tgz` URL or a git URL.

Fetched buildpacks are kept in the cache folder, one per URL (and git ref): fetched once, then reused by every build.
Each lands in a temporary folder first and is renamed into place, so a half-fetched buildpack is never used.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipegraph.builds.fetch import download
from pipegraph.builds.runner import Buildpack
from pipegraph.core.errors import DomainError, ErrorCode
from pipegraph.sources.archive import extract_archive

# pipegraph's own: an app with a Procfile deploys as it is, with no language buildpack.
PROCFILE_BUILDPACK = "procfile"
BUILTIN_SCRIPTS = {
    PROCFILE_BUILDPACK: {
        "detect": '#!/bin/sh\n[ -f "$1/Procfile" ] || exit 1\necho Procfile\n',
        "compile": "#!/bin/sh\n# The source tree is the slug as it is: nothing to compile.\nexit 0\n",
        "release": "#!/bin/sh\necho '--- {}'\n",
    }
}
DEFAULT_BUILDPACKS = (PROCFILE_BUILDPACK,)
MAX_BUILDPACKS = 10
TARBALL_SUFFIXES = (".tgz", ".tar.gz")


def _error(message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_BUILDPACK, message, field="buildpacks")


def validate_reference(reference: str) -> str:
    """A buildpack as the user may name it; refused with the reason otherwise."""
    value = reference.strip()
    if value in BUILTIN_SCRIPTS:
        return value
    if value.startswith("/"):
        if ".." in Path(value).parts:
            raise _error(f"buildpack folder {value!r} must be an absolute path without ..")
        return value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https", "git", "file") and (parts.netloc or parts.scheme == "file") and parts.path:
        return value
    raise _error(
        f"buildpack {value!r} is not {PROCFILE_BUILDPACK!r}, an absolute folder, a .tgz URL or a git URL "
        "(https://…/buildpack.git#ref)"
    )


def validate_references(references: list[str]) -> list[str]:
    if len(references) > MAX_BUILDPACKS:
        raise _error(f"at most {MAX_BUILDPACKS} buildpacks, got {len(references)}")
    return [validate_reference(reference) for reference in references]


def is_tarball_url(reference: str) -> bool:
    parts = urlsplit(reference)
    return parts.scheme in ("http", "https") and parts.path.endswith(TARBALL_SUFFIXES)


@dataclass(frozen=True)
class BuildpackFetcher:
    cache_root: Path  # holds `buildpacks/<hash>/` folders
    max_bytes: int
    timeout: float

    async def resolve(self, reference: str) -> Buildpack:
        """The buildpack's folder, fetched now if this is its first use; DomainError naming what failed."""
        if reference in BUILTIN_SCRIPTS:
            path = await asyncio.to_thread(self._builtin, reference)
        elif reference.startswith("/"):
            path = Path(reference)
        else:
            target = self.cache_root / "buildpacks" / hashlib.sha256(reference.encode()).hexdigest()[:32]
            if not target.exists():
                await self._fetch(reference, target)
            path = target
        if not (path / "bin" / "detect").is_file() or not (path / "bin" / "compile").is_file():
            raise _error(f"buildpack {reference} has no bin/detect and bin/compile")
        return Buildpack(name=reference, path=path, builtin=reference in BUILTIN_SCRIPTS)

    def _builtin(self, name: str) -> Path:
        target = self.cache_root / "buildpacks" / f"builtin-{name}"
        if target.exists():
            return target
        staging = Path(tempfile.mkdtemp(prefix=".builtin-", dir=self._staging_root()))
        for script, text in BUILTIN_SCRIPTS[name].items():
            path = staging / "bin" / script
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o755)
        _move_into_place(staging, target)
        return target

    def _staging_root(self) -> Path:
        root = self.cache_root / "buildpacks"
        root.mkdir(parents=True, exist_ok=True)
        return root

    async def _fetch(self, reference: str, target: Path) -> None:
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self._staging_root()))
        try:
            if is_tarball_url(reference):
                folder = await self._download(reference, staging)
            else:
                folder = await self._clone(reference, staging)
            await asyncio.to_thread(_move_into_place, folder, target)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)

    async def _download(self, url: str, staging: Path) -> Path:
        archive = staging / "buildpack.tgz"
        await download(
            url, archive, max_bytes=self.max_bytes, time_limit=self.timeout, what=f"buildpack {url}", field="buildpacks"
        )
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        return await asyncio.to_thread(
            extract_archive, archive, unpacked, what=f"buildpack {url}", max_bytes=self.max_bytes
        )

    async def _clone(self, reference: str, staging: Path) -> Path:
        url, _, ref = reference.partition("#")
        checkout = staging / "checkout"
        argv = ["git", "clone", "--quiet", "--depth", "1", *(["--branch", ref] if ref else []), url, str(checkout)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_TERMINAL_PROMPT": "0", "HOME": str(staging)}
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise _error(f"buildpack {reference} could not be cloned within {self.timeout:g}s") from None
        if process.returncode != 0:
            detail = output.decode(errors="replace").strip().splitlines()
            raise _error(f"buildpack {reference} could not be cloned: {detail[-1] if detail else 'git failed'}")
        shutil.rmtree(checkout / ".git", ignore_errors=True)
        return checkout


def _move_into_place(folder: Path, target: Path) -> None:
    try:
        os.rename(folder, target)
    except OSError:
        if not target.exists():  # not a lost race with another build fetching the same buildpack
            raise
        shutil.rmtree(folder, ignore_errors=True)
