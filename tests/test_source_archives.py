"""Source tarballs: entries escaping the build folder are refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipegraph.core.errors import DomainError
from pipegraph.sources.archive import extract_archive, validate_archive
from tests.support.build_scene import hostile_tarball, source_tarball


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("dotdot", "a path escaping the archive (../): '../evil'"),
        ("absolute", "an absolute path: '/tmp/evil'"),
        ("symlink", "a link pointing outside the archive: 'escape' -> '../../../etc/passwd'"),
    ],
)
def test_an_escaping_entry_refuses_the_whole_archive_and_writes_nothing(tmp_path: Path, kind: str, says: str) -> None:
    archive = tmp_path / "source.tgz"
    archive.write_bytes(hostile_tarball(kind))
    into = tmp_path / "build"
    into.mkdir()
    with pytest.raises(DomainError) as refused:
        extract_archive(archive, into, what="source tarball", max_bytes=1_000_000)
    assert refused.value.message == f"source tarball has {says}"
    assert list(into.iterdir()) == []
    with pytest.raises(DomainError):
        validate_archive(archive, what="source tarball", max_bytes=1_000_000)


def test_a_github_style_archive_is_unwrapped_and_a_flat_one_is_not(tmp_path: Path) -> None:
    for name, top in (("github", "acme-shop-9f2c1e0"), ("flat", None)):
        archive = tmp_path / f"{name}.tgz"
        archive.write_bytes(source_tarball({"Procfile": "web: x\n", "lib/a.txt": "a"}, top=top))
        into = tmp_path / name
        into.mkdir()
        root = extract_archive(archive, into, what="source tarball", max_bytes=1_000_000)
        assert sorted(path.name for path in root.iterdir()) == ["Procfile", "lib"]


def test_an_archive_unpacking_past_the_limit_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "big.tgz"
    archive.write_bytes(source_tarball({"zeros": "0" * 50_000}))
    with pytest.raises(DomainError, match="unpacks to more than"):
        validate_archive(archive, what="source tarball", max_bytes=1_000)


def test_not_a_tarball_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "junk.tgz"
    archive.write_bytes(b"this is not a tarball")
    with pytest.raises(DomainError, match="source tarball is not a tar archive"):
        validate_archive(archive, what="source tarball", max_bytes=1_000)
