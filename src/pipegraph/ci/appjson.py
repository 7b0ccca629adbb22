"""What a test run takes from app.json: the top level overlaid by `environments.test` (Heroku CI's precedence)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class AppJsonError(ValueError):
    """app.json is there but cannot be used: the run errors, saying why."""


@dataclass(frozen=True)
class TestEnvironment:
    __test__ = False

    env: dict[str, str] = field(default_factory=dict)
    buildpacks: list[str] = field(default_factory=list)  # empty: the app's buildpacks, else detect
    setup: str | None = None  # scripts.test-setup
    test: str | None = None  # scripts.test
    node_count: int = 1  # formation.test.quantity (parallel nodes: one for now)


def _env(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AppJsonError("app.json: env must be an object")
    env: dict[str, str] = {}
    for key, entry in value.items():
        if isinstance(entry, dict):
            if "value" in entry and entry["value"] is not None:
                env[str(key)] = str(entry["value"])
        elif entry is not None:
            env[str(key)] = str(entry)
    return env


def _buildpacks(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(b, dict) and isinstance(b.get("url"), str) for b in value):
        raise AppJsonError('app.json: buildpacks must be a list of {"url": …}')
    return [b["url"] for b in value]


def _script(scripts: Any, name: str) -> str | None:
    if scripts is None:
        return None
    if not isinstance(scripts, dict):
        raise AppJsonError("app.json: scripts must be an object")
    script = scripts.get(name)
    if script is not None and not isinstance(script, str):
        raise AppJsonError(f"app.json: scripts.{name} must be a string")
    return script or None


def read_test_environment(root: Path) -> TestEnvironment:
    """The test environment of the tree at `root`; an empty one when there is no app.json."""
    path = root / "app.json"
    if not path.is_file():
        return TestEnvironment()
    try:
        document = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise AppJsonError(f"app.json is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise AppJsonError("app.json must hold an object")
    environments = document.get("environments") or {}
    test = environments.get("test") or {} if isinstance(environments, dict) else {}
    if not isinstance(test, dict):
        raise AppJsonError("app.json: environments.test must be an object")
    buildpacks = _buildpacks(test.get("buildpacks"))
    if buildpacks is None:
        buildpacks = _buildpacks(document.get("buildpacks")) or []
    quantity = ((test.get("formation") or {}).get("test") or {}).get("quantity", 1)
    return TestEnvironment(
        env={**_env(document.get("env")), **_env(test.get("env"))},
        buildpacks=buildpacks,
        setup=_script(test.get("scripts"), "test-setup"),
        test=_script(test.get("scripts"), "test"),
        node_count=quantity if isinstance(quantity, int) and quantity > 0 else 1,
    )
