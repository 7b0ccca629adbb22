"""Process types: the app's `Procfile`, over what each buildpack's `bin/release` offers as defaults."""

from __future__ import annotations

import re
from pathlib import Path

from pipegraph.core.errors import DomainError, ErrorCode

# Heroku's own Procfile line: a name, a colon, a command.
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def parse_procfile(text: str) -> dict[str, str]:
    types: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PROCFILE_LINE.match(line)
        if not match:
            raise DomainError(ErrorCode.INVALID_PROCESS_TYPES, f"Procfile line is not `name: command`: {line!r}")
        types[match.group(1)] = match.group(2).strip()
    return types


def has_procfile(build_dir: Path) -> bool:
    path = build_dir / "Procfile"
    return path.is_file() and not path.is_symlink()


def read_procfile(build_dir: Path) -> dict[str, str]:
    if not has_procfile(build_dir):
        return {}
    return parse_procfile((build_dir / "Procfile").read_text(errors="replace"))


def parse_release_output(text: str) -> dict[str, str]:
    """`default_process_types` from `bin/release`'s YAML; only that simple mapping is read, not general YAML."""
    types: dict[str, str] = {}
    inside = False
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[:1].isspace():
            inside = raw.split(":", 1)[0].strip() == "default_process_types"
            continue
        if inside:
            name, _, command = raw.strip().partition(":")
            command = command.strip()
            if len(command) >= 2 and command[0] == command[-1] and command[0] in "'\"":
                command = command[1:-1]
            if name and command:
                types[name.strip()] = command
    return types
