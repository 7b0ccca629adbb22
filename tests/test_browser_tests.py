"""The Tests tab, a test run's page and the review apps of the overview, in Debian's Chromium against a live server
whose worker runs the tests: runs started through the API appear, output streams live, controls show only where the
viewer may use them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.browser import (
    AXE_SOURCE,
    PHONE,
    BrowserPage,
    serious_accessibility_violations,
    sideways_overflow,
)
from tests.support.ci_scene import CREATE_TEST_RUN, ENABLE_CI, new_tree, push, run_reaches, shop_tree
from tests.support.clients import GraphQLClient, make_actor
from tests.support.factories import create_app, create_pipeline
from tests.support.github_scene import APP_FILES, GitHubScene, pull_request_payload
from tests.support.jobs import JobRunner

PATIENCE_MS = 30_000
SHARE_VIEW = """mutation { addAppCollaborator(input: {app: "shop-staging", user: "grace@example.com",
  permissions: [VIEW]}) { userErrors { message } } }"""
CONNECT = """mutation { connectRepository(input: {pipeline: "shop", repository: "acme/shop"}) {
  userErrors { message } } }"""
ENABLE_REVIEW_APPS = 'mutation { enableReviewApps(input: {pipeline: "shop"}) { userErrors { message } } }'
CREATE_REVIEW_APP = """mutation { createReviewApp(input: {pipeline: "shop", pullRequest: 7}) {
  reviewApp { status } userErrors { message } } }"""


async def shop_under_ci(gql: GraphQLClient, host: str, tmp_path: Path, *, test_body: str) -> None:
    """shop-staging, in pipeline shop, with a commit pushed whose tests run `test_body`; CI turned on after the push,
    so that only the runs a test starts exist."""
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging", stage="STAGING")
    await push(host, gql.actor.token, await new_tree(tmp_path / "shop", shop_tree(test_body=test_body)))
    enabled = await gql(ENABLE_CI, {"input": {"pipeline": "shop"}})
    assert enabled["enableCi"]["userErrors"] == [], enabled


async def start_run(gql: GraphQLClient) -> int:
    started = (await gql(CREATE_TEST_RUN, {"input": {"pipeline": "shop", "branch": "main"}}))["createTestRun"]
    assert started["userErrors"] == [], started
    number: int = started["testRun"]["number"]
    return number


def run_row(page: Any, number: int) -> Any:
    return page.locator(f'tr[data-run="{number}"]')


async def test_the_tests_tab_lists_a_run_started_through_the_api_and_its_page_streams_its_output(
    browser_page: BrowserPage, gql: GraphQLClient, git_server: str, tmp_path: Path
) -> None:
    # given the Tests tab open, and tests that print a line and then wait
    await shop_under_ci(gql, git_server, tmp_path, test_body='echo "first half"; sleep 300')
    page = browser_page.page
    await browser_page.sign_in(gql.actor.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop")
    await page.get_by_role("link", name="Tests").click()
    await expect(page.get_by_text("No test run yet.")).to_be_visible()

    # when a program starts a run through the API
    number = await start_run(gql)

    # then the open tab lists it without a reload: number, branch, commit, who
    row = run_row(page, number)
    await expect(row).to_be_visible(timeout=PATIENCE_MS)
    await expect(row).to_contain_text("main")
    await expect(row).to_contain_text(gql.actor.user.email)

    # and its page shows the output as it is printed, while the run is still going
    await row.get_by_role("link", name=f"#{number}").click()
    await expect(page.get_by_role("heading", name=re.compile(f"Test run #{number}"))).to_be_visible()
    output = page.get_by_role("log", name="Test output")
    await expect(output).to_contain_text("first half", timeout=PATIENCE_MS)
    run = page.locator(f'section[data-run="{number}"]')
    await expect(run).to_have_attribute("data-status", "RUNNING", timeout=PATIENCE_MS)

    # and its admin may cancel it from there: the page follows it to its end
    await page.get_by_role("button", name="Cancel test run").click()
    await expect(run).to_have_attribute("data-status", "CANCELLED", timeout=PATIENCE_MS)
    await expect(page.get_by_text(f"cancelled by {gql.actor.user.email}")).to_be_visible()
    await expect(page.get_by_role("button", name="Cancel test run")).to_have_count(0)
    await page.get_by_role("link", name="All test runs").click()
    await expect(run_row(page, number)).to_have_attribute("data-status", "CANCELLED")
    assert browser_page.blocked == []


async def test_a_member_starts_a_run_from_the_page_and_a_viewer_sees_no_controls(
    browser_page: BrowserPage, gql: GraphQLClient, git_server: str, tmp_path: Path
) -> None:
    # given passing tests, and grace, who may only view the pipeline's app
    await shop_under_ci(gql, git_server, tmp_path, test_body='echo "12 tests pass"')
    grace = await make_actor("grace@example.com")
    assert (await gql(SHARE_VIEW))["addAppCollaborator"]["userErrors"] == []
    page = browser_page.page
    await browser_page.sign_in(gql.actor.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop/tests")

    # when the owner starts a run of main from the Tests tab, by keyboard
    form = page.get_by_role("form", name="Start a test run")
    await form.get_by_role("textbox", name="Branch").fill("main")
    await form.get_by_role("textbox", name="Branch").press("Enter")

    # then the run's page opens and follows it to its success, with its output
    await expect(page.get_by_role("heading", name=re.compile(r"Test run #1"))).to_be_visible(timeout=PATIENCE_MS)
    await expect(page.locator('section[data-run="1"]')).to_have_attribute(
        "data-status", "SUCCEEDED", timeout=PATIENCE_MS
    )
    await expect(page.get_by_role("log", name="Test output")).to_contain_text("12 tests pass")
    await expect(page.get_by_text("Exit code")).to_be_visible()

    # and a commit no app has is refused in the API's words
    await page.get_by_role("link", name="All test runs").click()
    await form.get_by_label("What to test").select_option("commit")
    await form.get_by_role("textbox", name="Commit").fill("0123456789abcdef")
    await form.get_by_role("button", name="Start test run").click()
    await expect(form.get_by_role("alert")).to_contain_text("push it to one of its apps first")

    # and grace sees the runs and their output, but neither starts nor cancels one
    await run_reaches(1)
    await browser_page.page.context.clear_cookies()
    await browser_page.sign_in(grace.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop/tests")
    await expect(run_row(page, 1)).to_have_attribute("data-status", "SUCCEEDED")
    await expect(page.get_by_role("form", name="Start a test run")).to_have_count(0)
    await page.goto(f"{browser_page.base_url}/pipelines/shop/tests/1")
    await expect(page.get_by_role("log", name="Test output")).to_contain_text("12 tests pass", timeout=PATIENCE_MS)
    await expect(page.get_by_role("button", name="Cancel test run")).to_have_count(0)


async def test_an_admin_turns_ci_on_from_the_tests_tab(browser_page: BrowserPage, gql: GraphQLClient) -> None:
    # given a pipeline without CI
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging", stage="STAGING")
    page = browser_page.page
    await browser_page.sign_in(gql.actor.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop/tests")
    await expect(page.get_by_text("CI is off: pushes to this pipeline are not tested.")).to_be_visible()
    await expect(page.get_by_role("form", name="Start a test run")).to_have_count(0)

    # when its owner turns CI on
    await page.get_by_role("button", name="Enable CI").click()

    # then runs can be started from the tab, and the API has CI on
    await expect(page.get_by_role("form", name="Start a test run")).to_be_visible()
    await expect(page.get_by_role("button", name="Enable CI")).to_have_count(0)
    assert (await gql('query { pipeline(name: "shop") { ci { enabled } } }'))["pipeline"]["ci"] == {"enabled": True}


async def test_the_review_column_shows_each_review_app_with_its_pull_request_and_status(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner
) -> None:
    # given review apps on shop, and the overview open
    await create_app(gql, name="shop-staging")
    await create_pipeline(gql, name="shop", app="shop-staging", stage="STAGING")
    for mutation in (CONNECT, ENABLE_REVIEW_APPS):
        assert list((await gql(mutation)).values())[0]["userErrors"] == []
    page = browser_page.page
    await browser_page.sign_in(gql.actor.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop")
    column = page.get_by_role("region", name=re.compile("Review apps"))
    await expect(column).to_be_visible()

    # when a review app is asked for pull request 7 through the API, and its job runs (GitHub is not configured here)
    assert (await gql(CREATE_REVIEW_APP))["createReviewApp"]["userErrors"] == []
    pending = column.locator('[data-review-app="7"]')
    await expect(pending).to_contain_text("shop-pr-7", timeout=PATIENCE_MS)
    await jobs.drain()

    # then the review column shows it by pull request number, with its status and why it errored
    await expect(pending).to_have_attribute("data-status", "ERRORED", timeout=PATIENCE_MS)
    await expect(pending).to_contain_text("#7")
    await expect(pending).to_contain_text("GitHub is not configured")
    if AXE_SOURCE:
        assert await serious_accessibility_violations(page) == []


async def test_a_review_app_with_its_app_shows_its_pull_request_on_the_apps_card(
    browser_page: BrowserPage, github_scene: GitHubScene
) -> None:
    # given a pull request opened on GitHub whose review app was made and deployed by the workers
    await github_scene.setup(files={**APP_FILES, "app.json": json.dumps({"name": "shop"})})
    await github_scene.enable_review_apps(automatic=True, baseName="shop")
    sha = await github_scene.commit({"feature.txt": "checkout"}, branch="checkout", message="Add checkout")
    await github_scene.deliver("pull_request", pull_request_payload("opened", 12, sha=sha, branch="checkout"))
    await github_scene.jobs.drain()
    [review] = await github_scene.review_apps()
    assert review["status"] == "CREATED", review["message"]

    # when the overview is open
    page = browser_page.page
    await browser_page.sign_in(github_scene.gql.actor.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop")

    # then its card in the review column carries the pull request and the review app's status, listed once
    column = page.get_by_role("region", name=re.compile("Review apps"))
    card = column.get_by_role("article", name="shop-pr-12")
    await expect(card.locator('[data-review-app="12"]')).to_have_text("PR #12 · created")
    await expect(column.locator("[data-review-app]")).to_have_count(1)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
async def test_the_tests_pages_are_accessible_and_fit_a_phone(
    browser_page: BrowserPage, gql: GraphQLClient, git_server: str, tmp_path: Path, viewport: dict[str, int]
) -> None:
    if not AXE_SOURCE:
        pytest.skip("axe-core is not installed in web/node_modules: make web")
    # given a finished run, seen at a desktop's and at a phone's width
    await shop_under_ci(gql, git_server, tmp_path, test_body='echo "a rather long line of test output " $(seq 1 40)')
    await start_run(gql)
    await run_reaches(1)
    page = browser_page.page
    await page.set_viewport_size(viewport)
    await browser_page.sign_in(gql.actor.user)

    for path, ready in [("/pipelines/shop/tests", "Test runs, newest first"), ("/pipelines/shop/tests/1", "Output")]:
        # when each page is open and settled
        await page.goto(f"{browser_page.base_url}{path}")
        await expect(page.get_by_text(ready, exact=True)).to_be_visible(timeout=PATIENCE_MS)
        await page.wait_for_load_state("networkidle")

        # then nothing serious stands in the way of a screen reader or a keyboard, and nothing overflows sideways
        assert await serious_accessibility_violations(page) == [], path
        assert await sideways_overflow(page) <= 0, path
