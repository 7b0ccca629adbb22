"""Signing in as a newcomer does: `pipegraph dev --demo` prints a link, a browser opens it and sees the demo."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from pipegraph.settings import Settings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.test_dev_command import dev_demo, free_port, printed

PATIENCE_MS = 20_000


def printed_dashboard_link(process: subprocess.Popen[str], deadline: float) -> str:
    return printed(process, r"dashboard:\s+(http://\S+/login\?token=pgl_\S+)", deadline)


def test_the_printed_link_signs_a_browser_in_once_and_sign_out_ends_it(tmp_path: Path, base_settings: Settings) -> None:
    require_browser(base_settings)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    # given pipegraph dev --demo on a fresh data folder
    port = free_port()
    with dev_demo(tmp_path, port) as process:
        link = printed_dashboard_link(process, time.monotonic() + 60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                # (the link is printed just before the server binds its port)
                for _ in range(100):
                    try:
                        page.goto(link)
                        break
                    except PlaywrightError:  # connection refused until uvicorn listens
                        time.sleep(0.1)

                # when the printed link is opened, then the browser lands on the dashboard, the token gone from the bar
                assert page.url == f"http://127.0.0.1:{port}/"
                page.get_by_role("link", name="shop", exact=True).click()
                production = page.get_by_role("region", name=re.compile("Production"))
                expect(production.get_by_role("article", name="shop-prod")).to_be_visible(timeout=PATIENCE_MS)
                expect(production.get_by_role("article", name="shop-admin")).to_be_visible()

                # and signing out ends the session: the page asks for a link again, and the old one is spent
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_role("heading", name="Sign in to pipegraph")).to_be_visible(timeout=PATIENCE_MS)
                assert page.context.cookies() == []
                page.goto(link)
                expect(page.get_by_role("heading", name="This sign-in link does not work")).to_be_visible()
            finally:
                browser.close()
