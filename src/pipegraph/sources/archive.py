"""Safe extraction of source tarballs and buildpack archives: every entry is checked before anything is written.

A tarball comes from a client or the network: an entry escaping the target folder (`../`, an absolute path, a link
pointing out, a device) refuses the whole archive, and the limits on size and entry count stop a tar bomb.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from pipegraph.core.errors import DomainError, ErrorCode

MAX_ENTRIES = 100_000
# Unpacked bytes allowed per compressed byte limit: sources compress well, a bomb compresses far better.
EXPANSION_FACTOR = 10


class ArchiveError(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_TARBALL, message, field="sourceBlob")


def _normalized(name: str) -> PurePosixPath | None:
    """The entry's path relative to the archive root, or None when it escapes the root."""
    if name.startswith("/") or PurePosixPath(name).is_absolute():
        return None
    normal = posixpath.normpath(name)
    if normal == ".":
        return PurePosixPath(".")
    if normal == ".." or normal.startswith("../") or ".." in PurePosixPath(name).parts:
        return None
    return PurePosixPath(normal)


def _link_stays_inside(member: tarfile.TarInfo, path: PurePosixPath) -> bool:
    target = member.linkname
    if target.startswith("/"):
        return False
    # A symlink resolves from its own folder, a hard link from the archive root.
    base = path.parent if member.issym() else PurePosixPath(".")
    joined = posixpath.normpath(str(base / target))
    return joined != ".." and not joined.startswith("../")


def check_members(tar: tarfile.TarFile, *, what: str, max_bytes: int) -> list[tarfile.TarInfo]:
    """Every entry of `tar` after checking them all; raises ArchiveError naming the first bad one."""
    members: list[tarfile.TarInfo] = []
    total = 0
    for member in tar:
        path = _normalized(member.name)
        if path is None:
            kind = "an absolute path" if member.name.startswith("/") else "a path escaping the archive (../)"
            raise ArchiveError(f"{what} has {kind}: {member.name!r}")
        if (member.issym() or member.islnk()) and not _link_stays_inside(member, path):
            raise ArchiveError(
                f"{what} has a link pointing outside the archive: {member.name!r} -> {member.linkname!r}"
            )
        if member.isdev() or member.isfifo():
            raise ArchiveError(f"{what} has a device or pipe entry: {member.name!r}")
        total += max(member.size, 0)
        if total > max_bytes:
            raise ArchiveError(f"{what} unpacks to more than {max_bytes} bytes")
        members.append(member)
        if len(members) > MAX_ENTRIES:
            raise ArchiveError(f"{what} has more than {MAX_ENTRIES} entries")
    return members


def validate_archive(path: Path, *, what: str, max_bytes: int) -> None:
    """Refuse an archive that is not a tarball (gzip or plain) or has an entry that would escape; writes nothing."""
    try:
        with tarfile.open(path, "r:*") as tar:
            check_members(tar, what=what, max_bytes=max_bytes * EXPANSION_FACTOR)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ArchiveError(f"{what} is not a tar archive ({error})") from None


def _single_top_folder(members: list[tarfile.TarInfo]) -> str | None:
    """GitHub's tarballs hold one top-level folder (`owner-repo-sha/`): that folder is the source, as on Heroku."""
    tops: set[str] = set()
    for member in members:
        parts = PurePosixPath(posixpath.normpath(member.name)).parts
        if not parts or parts == (".",):
            continue
        if len(parts) == 1 and not member.isdir():
            return None  # a file at the root: the root is the source
        tops.add(parts[0])
    return tops.pop() if len(tops) == 1 else None


def extract_archive(path: Path, into: Path, *, what: str, max_bytes: int, unwrap: bool = True) -> Path:
    """Extract a checked archive into the empty folder `into` and return the source root inside it."""
    try:
        with tarfile.open(path, "r:*") as tar:
            members = check_members(tar, what=what, max_bytes=max_bytes * EXPANSION_FACTOR)
            # The "data" filter checks again as it writes (and drops set-uid bits): belt and braces.
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as error:
        shutil.rmtree(into, ignore_errors=True)
        into.mkdir(parents=True, exist_ok=True)
        raise ArchiveError(f"{what} could not be extracted ({error})") from None
    top = _single_top_folder(members) if unwrap else None
    if top and (into / top).is_dir() and not (into / top).is_symlink():
        return into / top
    return into
