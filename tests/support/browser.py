"""A real browser for the tests: Debian's Chromium, driven by Playwright, reaching nothing but this machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipegraph.accounts.models import User
from pipegraph.accounts.sessions import create_login_link_token
from pipegraph.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
BROWSER_EXPECT_MS = 15_000  # for assertions that name no timeout of their own


def require_browser(settings: Settings, *, chromium: bool = True) -> None:
    """Skip, with what to install, where there is no Chromium or no built dashboard; in CI, fail instead."""
    reason = None
    if chromium and not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (.ci/run installs it when missing)"
    elif not (settings.web_dir / "index.html").exists():
        reason = f"the dashboard is not built in {settings.web_dir}: `make web` (make test builds it)"
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason)  # .ci/run installs and builds both: a skip there would hide a broken set-up
    if reason:
        pytest.skip(reason)


@dataclass
class BrowserPage:
    """A fresh browser context (no cookies) whose every request to a host other than loopback is aborted."""

    page: Any
    base_url: str
    blocked: list[str]

    async def sign_in(self, user: User) -> None:
        await self.page.goto(f"{self.base_url}/login?token={await create_login_link_token(user)}")


AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Evaluated through the DevTools protocol, which the pages' script-src 'self' policy does not apply to.
AXE_SOURCE = AXE.read_text() if AXE.exists() else ""
PHONE = {"width": 390, "height": 844}


async def serious_accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands (labels, names, contrast, roles…)."""
    await page.evaluate(AXE_SOURCE)
    results = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{violation['id']}: {violation['help']} ({len(violation['nodes'])}x)"
        for violation in results
        if violation["impact"] in {"serious", "critical"}
    ]


async def sideways_overflow(page: Any) -> int:
    """How many pixels the page is wider than its window (0 or less: nothing overflows sideways)."""
    overflow: int = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return overflow
