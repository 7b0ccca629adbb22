"""app.json, read from a source tarball: env (value, required, generator "secret"), scripts, buildpacks, stack, and
`environments.<name>` overriding the top level (review apps read `review`, CI `test`)."""

from __future__ import annotations

import json
import re
import secrets
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipegraph.core.errors import DomainError, ErrorCode

MAX_APP_JSON_BYTES = 256 * 1024
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EnvVar:
    value: str | None
    required: bool
    generator: str | None = None


@dataclass(frozen=True)
class AppJson:
    """One environment's view of an app.json (the top level with `environments.<name>` laid over it)."""

    env: dict[str, EnvVar] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    buildpacks: list[str] = field(default_factory=list)
    stack: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def config(self, overrides: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        """Config vars from `env` (a value, or a generated secret), then `overrides` on top; and the names of
        required vars left without a value."""
        values: dict[str, str] = {}
        for key, var in self.env.items():
            if var.value is not None:
                values[key] = var.value
            elif var.generator == "secret":
                values[key] = secrets.token_hex(32)
        values.update(overrides)
        missing = [key for key, var in self.env.items() if var.required and key not in values]
        return values, missing


def _invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, f"app.json: {message}")


def _env(raw: Any) -> dict[str, EnvVar]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _invalid("env must be an object")
    env: dict[str, EnvVar] = {}
    for key, spec in raw.items():
        if not _KEY.fullmatch(str(key)):
            raise _invalid(f"env name {key!r} is not a valid config var name")
        if isinstance(spec, str | int | float | bool):
            env[key] = EnvVar(value=str(spec), required=True)
        elif isinstance(spec, dict):
            generator = spec.get("generator")
            if generator not in (None, "secret"):
                raise _invalid(f'env {key}: the only generator is "secret", not {generator!r}')
            value = spec.get("value")
            env[key] = EnvVar(
                value=None if value is None else str(value),
                required=bool(spec.get("required", True)),
                generator=generator,
            )
        else:
            raise _invalid(f"env {key} must be a string or an object")
    return env


def _buildpacks(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _invalid("buildpacks must be a list")
    urls = []
    for entry in raw:
        url = entry.get("url") if isinstance(entry, dict) else entry
        if not isinstance(url, str) or not url:
            raise _invalid("each buildpack needs a url")
        urls.append(url)
    return urls


def parse_app_json(document: Mapping[str, Any], environment: str | None = None) -> AppJson:
    """`environment` ("review", "test"): its keys take precedence over the top level's."""
    merged: dict[str, Any] = dict(document)
    overlay = ((document.get("environments") or {}) if isinstance(document.get("environments"), dict) else {}).get(
        environment or ""
    )
    if isinstance(overlay, dict):
        for key, value in overlay.items():
            if key == "env" and isinstance(value, dict) and isinstance(merged.get("env"), dict):
                merged["env"] = {**merged["env"], **value}
            elif key == "scripts" and isinstance(value, dict) and isinstance(merged.get("scripts"), dict):
                merged["scripts"] = {**merged["scripts"], **value}
            else:
                merged[key] = value
    scripts = merged.get("scripts") or {}
    if not isinstance(scripts, dict) or not all(isinstance(v, str) for v in scripts.values()):
        raise _invalid("scripts must map names to commands")
    stack = merged.get("stack")
    return AppJson(
        env=_env(merged.get("env")),
        scripts={str(k): v for k, v in scripts.items()},
        buildpacks=_buildpacks(merged.get("buildpacks")),
        stack=stack if isinstance(stack, str) and stack else None,
        raw=dict(document),
    )


def read_app_json(tarball: Path) -> dict[str, Any] | None:
    """The app.json at the root of a source tarball (or of its one top-level folder, as GitHub's are); None when
    there is none. Raises DomainError when it is not a JSON object."""
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            parts = PurePosixPath(member.name.removeprefix("./")).parts
            if not member.isfile() or not parts or parts[-1] != "app.json" or len(parts) > 2:
                continue
            if member.size > MAX_APP_JSON_BYTES:
                raise _invalid(f"it is larger than {MAX_APP_JSON_BYTES} bytes")
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            try:
                document = json.loads(extracted.read())
            except ValueError as error:
                raise _invalid(f"not valid JSON ({error})") from None
            if not isinstance(document, dict):
                raise _invalid("it must be a JSON object")
            return document
    return None
