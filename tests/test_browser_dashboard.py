"""The dashboard and GraphiQL in Debian's Chromium against a live server, with a real worker doing the promotions.

Every request to a host other than loopback is aborted (BrowserPage), so a page that needed the internet would fail
here. The README's screenshots are taken as the tests pass through those states: `PIPEGRAPH_SCREENSHOTS=docs/screenshots
make test PYTEST_ARGS=tests/test_browser_dashboard.py` renews them (by default they go to a temporary folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from workers.runner import in_process_worker

from pipegraph.settings import Settings
from pipegraph.slugs.store import LocalSlugStore
from pipegraph.testing.seed import SMALL, commit_of, seed_graph
from tests.support import git_scene
from tests.support.browser import BrowserPage
from tests.support.build_scene import PROCFILE_APP
from tests.support.clients import Actor, GraphQLClient
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import SET_CONFIG_VARS, deploy_release_script, promote, shop_pipeline

# Generous: a broken page fails after this long instead of hanging; a working one is far quicker.
PATIENCE_MS = 20_000

PROGRESS = 'subscription Watch { promotionProgress(id: "%s") { target { app { name } } status } }'


async def ready_shop(gql: GraphQLClient, jobs: JobRunner, *, release_script: str) -> None:
    """The promotion scene, every app released; shop-staging's release phase runs `release_script`."""
    await shop_pipeline(gql)
    for app, commit, message in [
        ("shop-dev", "9f2c1e04b7d3a8e6", "Show delivery dates at checkout"),
        ("shop-admin", "3b7d0aa1c9e45f12", "Add order export"),
        ("shop-prod-eu", "3b7d0aa1c9e45f12", "Add order export"),
    ]:
        await deploy(gql, app=app, commit=commit, message=message)
    await deploy_release_script(
        gql, app="shop-staging", script=release_script, commit="5ca1ab1e8d02f7c4", message="Cart totals in cents"
    )
    await jobs.drain()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PIPEGRAPH_SCREENSHOTS") or tmp_path).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def target(page: Any, app: str) -> Any:
    return page.locator(f'[data-target="{app}"]')


async def open_overview(browser_page: BrowserPage, actor: Actor) -> Any:
    page = browser_page.page
    await browser_page.sign_in(actor.user)
    await page.get_by_role("link", name="shop", exact=True).click()
    await expect(page.get_by_role("heading", name="Production")).to_be_visible()
    return page


async def promote_from_page(page: Any) -> None:
    await page.get_by_role("button", name="Promote to production…").click()
    dialog = page.get_by_role("dialog", name=re.compile("Promote shop-staging"))
    # the next stage is chosen by default, and the others are offered
    await expect(dialog.get_by_role("checkbox", name="shop-admin")).to_be_checked()
    await expect(dialog.get_by_role("checkbox", name="shop-prod-eu")).to_be_checked()
    await expect(dialog.get_by_role("checkbox", name="shop-dev")).not_to_be_checked()
    await dialog.get_by_role("button", name="Promote to 2 apps").click()


async def run_operation(page: Any, name: str) -> None:
    # GraphiQL sends the operation name it parsed last: wait until the tab is named after the edited operation.
    await expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    await page.get_by_role("button", name="Execute query").click()


async def test_graphiql_runs_a_query_and_a_subscription_offline_with_the_token_in_its_headers(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner
) -> None:
    # given a completed promotion, and a browser that is not signed in and reaches nothing but this machine
    await ready_shop(gql, jobs, release_script="echo ok\n")
    promotion_id = (await promote(gql, source="shop-staging"))["promotion"]["id"]
    await jobs.drain()
    page = browser_page.page

    # when GraphiQL is opened, the token put in its Headers tab, and a subscription run
    await page.goto(f"{browser_page.base_url}/graphql")
    await expect(page.get_by_role("button", name="Show Documentation Explorer")).to_be_visible(timeout=PATIENCE_MS)
    await expect(page.get_by_role("button", name="Show GraphiQL Explorer")).to_be_visible()
    await page.get_by_text("Headers", exact=True).click()
    await page.locator(".graphiql-editor-tool .monaco-editor").last.click()
    await page.keyboard.insert_text(f'{{"Authorization": "Bearer {gql.actor.token}"}}')
    await page.locator(".graphiql-query-editor .monaco-editor").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(PROGRESS % promotion_id)
    await run_operation(page, "Watch")

    # then the subscription's events arrive over the WebSocket, and the page fetched nothing from elsewhere
    result = page.locator(".graphiql-response")
    await expect(result).to_contain_text("SUCCEEDED", timeout=PATIENCE_MS)
    await expect(result).to_contain_text("shop-prod-eu")

    # and a plain query runs over HTTP with the same header
    await page.locator(".graphiql-query-editor .monaco-editor").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text("query Me { viewer { email } }")
    await run_operation(page, "Me")
    await expect(result).to_contain_text(gql.actor.user.email, timeout=PATIENCE_MS)
    assert browser_page.blocked == []


async def test_the_overview_shows_the_demo_pipeline(
    browser_page: BrowserPage, settings: Settings, viewer: Actor
) -> None:
    # given the seeded pipeline `shop`: an app per stage, each running its release
    await seed_graph(SMALL, owner=viewer.user, store=LocalSlugStore(settings.slug_dir))

    # when its owner signs in and opens it from the list of pipelines
    page = await open_overview(browser_page, viewer)

    # then each stage is a column with its app's card: release, commit, message, who
    for stage, app in [("Review apps", "shop-rev-1"), ("Development", "shop-dev-1"), ("Staging", "shop-sta-1")]:
        column = page.get_by_role("region", name=re.compile(stage))
        card = column.get_by_role("article", name=app)
        await expect(card).to_contain_text("v1")
        await expect(card).to_contain_text(commit_of(app, 1)[:7])
        await expect(card).to_contain_text(f"Change 1 of {app}")
        await expect(card).to_contain_text(viewer.user.email)
    # and staging runs other code than production, flagged on its card
    staging = page.get_by_role("article", name="shop-sta-1")
    badge = staging.get_by_text("Differs from production")
    await expect(badge).to_be_visible()
    # (seeded commits are in no git repository: the badge cannot count them, and its title says why)
    await expect(badge).to_have_attribute(
        "title", re.compile(r"^Not counted: neither shop-sta-1 nor shop-\S+ has a git repository: push to one of them")
    )
    await expect(staging.get_by_role("button", name="Promote to production…")).to_be_visible()
    assert browser_page.blocked == []


async def test_promote_staging_to_production_and_watch_both_targets_succeed_live(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner, settings: Settings, screenshots: Path
) -> None:
    # given staging released with a release phase that takes a moment
    await ready_shop(gql, jobs, release_script='echo "migrating $DYNO"\nsleep 1\necho done\n')
    page = await open_overview(browser_page, gql.actor)
    await page.screenshot(path=str(screenshots / "overview.png"))

    async with in_process_worker(settings):
        # when staging is promoted from its card
        await promote_from_page(page)

        # then the targets' progress shows live, with the release phase's output
        await expect(target(page, "shop-admin")).to_have_attribute("data-status", "RUNNING", timeout=PATIENCE_MS)
        await expect(page.get_by_label("Release phase output").first).to_contain_text("migrating", timeout=PATIENCE_MS)
        await page.screenshot(path=str(screenshots / "promotion.png"))

        # and a reload in the middle follows the same promotion
        await page.reload()
        for app in ("shop-admin", "shop-prod-eu"):
            await expect(target(page, app)).to_have_attribute("data-status", "SUCCEEDED", timeout=PATIENCE_MS)
            await expect(target(page, app)).to_contain_text("v2")

    # and the production cards now run staging's code
    await expect(page.get_by_role("article", name="shop-staging")).to_contain_text("Same code as production")
    assert browser_page.blocked == []


async def test_a_failing_release_phase_shows_its_message(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given a release phase that fails where FAIL is set, as it is on shop-admin
    await ready_shop(gql, jobs, release_script='if [ -n "$FAIL" ]; then echo "cannot migrate" >&2; exit 1; fi\n')
    configured = await gql(SET_CONFIG_VARS, {"input": {"app": "shop-admin", "vars": {"FAIL": "1"}}})
    assert configured["setConfigVars"]["userErrors"] == []
    page = await open_overview(browser_page, gql.actor)

    # when staging is promoted to both production apps
    async with in_process_worker(settings):
        await promote_from_page(page)

        # then shop-admin fails with the reason and its output, and shop-prod-eu succeeds
        failed = target(page, "shop-admin")
        await expect(failed).to_have_attribute("data-status", "FAILED", timeout=PATIENCE_MS)
        await expect(failed.get_by_role("alert")).to_have_text("release command exited with status 1")
        await expect(failed.get_by_label("Release phase output")).to_contain_text("cannot migrate")
        await expect(target(page, "shop-prod-eu")).to_have_attribute("data-status", "SUCCEEDED", timeout=PATIENCE_MS)


async def test_an_open_page_sees_a_promotion_started_through_the_api(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner, settings: Settings
) -> None:
    # given the overview open in a browser
    await ready_shop(gql, jobs, release_script="echo ok\n")
    page = await open_overview(browser_page, gql.actor)
    await expect(page.get_by_text("No promotion yet.")).to_be_visible()

    # when a program promotes staging through the API
    async with in_process_worker(settings):
        await promote(gql, source="shop-staging")

        # then the page shows it without a reload, up to both targets' success
        for app in ("shop-admin", "shop-prod-eu"):
            await expect(target(page, app)).to_have_attribute("data-status", "SUCCEEDED", timeout=PATIENCE_MS)
    await expect(page.get_by_role("article", name="shop-prod-eu")).to_contain_text("v2")


async def test_a_card_counts_the_commits_it_runs_ahead_of_the_next_stage_from_git(
    browser_page: BrowserPage, gql: GraphQLClient, git_server: str, tmp_path: Path
) -> None:
    # given production pushed from one commit and staging from two commits later, each with `git push`
    await shop_pipeline(gql, production=("shop-prod",))
    tree = await git_scene.work_tree(tmp_path / "shop", PROCFILE_APP, message="Add checkout")
    await _push(git_server, gql, tree, app="shop-prod")
    await git_scene.commit(tree, {"README": "coupons"}, message="Add coupons")
    await git_scene.commit(tree, {"README": "coupons, fixed"}, message="Fix coupons")
    await _push(git_server, gql, tree, app="shop-staging")

    # when the pipeline's overview is opened
    page = await open_overview(browser_page, gql.actor)

    # then staging's card says how far ahead of production it is, its commits in the badge's title
    badge = page.get_by_role("article", name="shop-staging").get_by_text("Differs from production")
    await expect(badge).to_have_text("Differs from production: 2 commits ahead", timeout=PATIENCE_MS)
    await expect(badge).to_have_attribute("title", re.compile(r"^[0-9a-f]{7} Fix coupons\n[0-9a-f]{7} Add coupons$"))
    assert browser_page.blocked == []


async def _push(git_server: str, gql: GraphQLClient, tree: Path, *, app: str) -> None:
    remote = git_scene.remote_url(git_server, app, gql.actor.token)
    assert (await git_scene.git("push", remote, "main", cwd=tree)).code == 0
