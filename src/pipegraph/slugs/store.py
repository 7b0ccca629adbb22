"""Where slug blobs live: content-addressed by SHA-256, written atomically, never changed once stored."""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import tarfile
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Protocol

from pipegraph.core.errors import DomainError, ErrorCode


class SlugStore(Protocol):
    """What callers use of a slug store; an object-store one can stand beside the local folder."""

    async def put(self, chunks: AsyncIterator[bytes], *, expected_digest: str, max_bytes: int) -> int:
        """Store a verified gzip tarball whose SHA-256 is `expected_digest`; returns its size."""
        ...

    async def verify(self, digest: str) -> str | None:
        """The SHA-256 the blob stored under `digest` really has (`digest` itself unless it rotted), or None when
        there is no such blob."""
        ...

    def path_for(self, digest: str) -> Path:
        """Where the blob can be read as a local file (the release phase extracts it)."""
        ...


# Blobs are immutable and content-addressed: one promotion to 50 apps verifies the same file 50 times. A file whose
# identity (inode, size, mtime) is unchanged since this store hashed it is not read again.
_VERIFIED_MAX = 256
_FileIdentity = tuple[str, int, int, int]


class LocalSlugStore:
    """A folder sharded by digest (`ab/cd/abcd….tar.gz`), so no directory grows past a few thousand entries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._verified: dict[_FileIdentity, str] = {}

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / f"{digest}.tar.gz"

    async def verify(self, digest: str) -> str | None:
        return await asyncio.to_thread(self._sha256_of, digest)

    def _sha256_of(self, digest: str) -> str | None:
        path = self.path_for(digest)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        identity = (digest, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if identity in self._verified:
            return self._verified[identity]
        hasher = hashlib.sha256()
        with path.open("rb") as blob:
            for chunk in iter(lambda: blob.read(1024 * 1024), b""):
                hasher.update(chunk)
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()
        self._verified[identity] = hasher.hexdigest()
        return self._verified[identity]

    async def put(self, chunks: AsyncIterator[bytes], *, expected_digest: str, max_bytes: int) -> int:
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=incoming, suffix=".part")
        tmp = Path(tmp_name)
        try:
            size, digest = await receive_to_file(fd, chunks, max_bytes=max_bytes)
            if digest != expected_digest:
                raise DomainError(
                    ErrorCode.CHECKSUM_MISMATCH,
                    f"slug checksum does not match: declared SHA256:{expected_digest}, uploaded bytes are "
                    f"SHA256:{digest}",
                    field="checksum",
                )
            await asyncio.to_thread(validate_tarball, tmp)
            final = self.path_for(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # atomic: readers see the whole blob or none
            return size
        finally:
            tmp.unlink(missing_ok=True)  # noqa: ASYNC240 - a local unlink, gone already after os.replace


async def receive_to_file(
    fd: int,
    chunks: AsyncIterator[bytes],
    *,
    max_bytes: int,
    what: str = "slug",
    too_large: ErrorCode = ErrorCode.SLUG_TOO_LARGE,
) -> tuple[int, str]:
    """Write `chunks` to `fd` (closing it), refusing more than `max_bytes`; returns the size and SHA-256 hex."""
    hasher = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise DomainError(too_large, f"{what} is larger than the limit of {max_bytes} bytes")
            hasher.update(chunk)
            out.write(chunk)
        out.flush()
        # Off the event loop: on a busy disk an fsync takes milliseconds, and every other request would wait on it.
        await asyncio.to_thread(os.fsync, out.fileno())
    return size, hasher.hexdigest()


def _inside_app(path: PurePosixPath) -> bool:
    normalized = PurePosixPath(posixpath.normpath(str(path)))
    return not normalized.is_absolute() and normalized.parts[:1] == ("app",)


def validate_tarball(path: Path) -> None:
    """A slug is a gzip tarball whose every entry, and every link target, stays inside `./app/`."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = PurePosixPath(member.name)
                if member.isdir() and posixpath.normpath(member.name) == ".":
                    continue  # `tar -C dir .` adds the root itself
                if not _inside_app(name):
                    raise DomainError(
                        ErrorCode.INVALID_TARBALL,
                        f"slug path {member.name!r} escapes ./app/",
                        field="tarball",
                    )
                if member.issym() and not _inside_app(name.parent / member.linkname):
                    raise DomainError(
                        ErrorCode.INVALID_TARBALL,
                        f"slug symlink {member.name!r} -> {member.linkname!r} escapes ./app/",
                        field="tarball",
                    )
                if member.islnk() and not _inside_app(PurePosixPath(member.linkname)):
                    raise DomainError(
                        ErrorCode.INVALID_TARBALL,
                        f"slug hard link {member.name!r} -> {member.linkname!r} escapes ./app/",
                        field="tarball",
                    )
                if member.isdev():
                    raise DomainError(
                        ErrorCode.INVALID_TARBALL,
                        f"slug entry {member.name!r} is a device file",
                        field="tarball",
                    )
            _resolve_as_extracted(tar)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DomainError(
            ErrorCode.INVALID_TARBALL, f"slug is not a gzip-compressed tar archive ({error})", field="tarball"
        ) from None


def _resolve_as_extracted(tar: tarfile.TarFile) -> None:
    """Lay the slug's folders and symlinks out in a scratch folder, in order, as the release phase's extraction will,
    and check each entry with the extraction's own `data` filter and against ./app/ as the filesystem resolves it.

    Read one by one, `app/a -> .` and `app/b -> a/a/a/../..` both stay inside ./app/; extracted, the second resolves
    through the first to the folder above the slug. Regular files hold no path, so only their names are checked.
    """
    with tempfile.TemporaryDirectory(prefix="pipegraph-slug-check-") as scratch:
        root = os.path.realpath(scratch)
        app = os.path.join(root, "app")
        for member in tar.getmembers():
            try:
                tarfile.data_filter(member, root)
            except tarfile.FilterError as error:
                raise _escapes(member, f"resolves out of the slug ({error})") from None
            path = os.path.join(root, member.name)
            if member.issym():
                if not _within(os.path.realpath(os.path.join(os.path.dirname(path), member.linkname)), app):
                    raise _escapes(member, "resolves out of ./app/ through the links before it")
                if not os.path.lexists(path):
                    os.symlink(member.linkname, path)
            elif member.isdir() and posixpath.normpath(member.name) != ".":
                if not _within(os.path.realpath(path), app):
                    raise _escapes(member, "resolves out of ./app/ through the links before it")
                os.makedirs(path, exist_ok=True)
            elif not member.isdir():
                if not _within(os.path.realpath(path), app):
                    raise _escapes(member, "resolves out of ./app/ through the links before it")
                os.makedirs(os.path.dirname(path), exist_ok=True)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


def _escapes(member: tarfile.TarInfo, how: str) -> DomainError:
    link = f" -> {member.linkname!r}" if member.issym() or member.islnk() else ""
    return DomainError(ErrorCode.INVALID_TARBALL, f"slug entry {member.name!r}{link} {how}", field="tarball")
