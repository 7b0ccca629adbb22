"""The one builder of slug tarballs for tests: well-formed ones, and the malformed ones a slug must be refused for."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping, Sequence


def tarball(
    files: Mapping[str, str | bytes] | None = None,
    *,
    root: str = "./app/",
    entries: Sequence[tarfile.TarInfo] = (),
    compressed: bool = True,
) -> bytes:
    """`files` (name to content, executable) under `root`, then the raw `entries` as given (links, devices, paths out
    of ./app/; a regular one holds b"x"); a gzip-compressed tar unless `compressed` is False."""
    files = files if files is not None else ({} if entries else {"README": "hello\n"})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(root + name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for member in entries:
            if member.isreg():
                member.size = 1
                tar.addfile(member, io.BytesIO(b"x"))
            else:
                tar.addfile(member)
    # gzip's header holds a time: with mtime=0 the same files give the same bytes, so the same checksum, every time.
    return gzip.compress(buffer.getvalue(), mtime=0) if compressed else buffer.getvalue()


def entry(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    """A raw tar entry, for `tarball(entries=...)`."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def checksum_of(data: bytes) -> str:
    return f"SHA256:{hashlib.sha256(data).hexdigest()}"
