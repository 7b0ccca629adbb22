"""Managing a pipeline from the dashboard: rollback with a confirmation, the card menu, and controls shown only to
those the API would let use them, with the API's own words when it refuses."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.support.browser import AXE_SOURCE, PHONE, BrowserPage, serious_accessibility_violations
from tests.support.clients import GraphQLClient, make_actor
from tests.support.factories import deploy
from tests.support.jobs import JobRunner
from tests.support.promotion_scene import shop_pipeline
from tests.test_pipeline_access import GRANT

ROLLED_BACK = 'query { app(name: "shop-prod-eu") { currentRelease { version sourceRelease { version } } } }'
RENAME = """mutation($name: String!) { renamePipeline(input: {pipeline: "shop", name: $name}) {
  pipeline { name } userErrors { message } } }"""
SHARE_VIEW = """mutation($app: String!) { addAppCollaborator(input: {app: $app, user: "grace@example.com",
  permissions: [VIEW]}) { userErrors { message } } }"""
SHARE = """mutation($app: String!, $permissions: [Permission!]!) { addAppCollaborator(input: {app: $app,
  user: "grace@example.com", permissions: $permissions}) { userErrors { message } } }"""
PROMOTE = 'mutation { promote(input: {source: "shop-staging", to: ["shop-prod-eu"]}) { userErrors { code } } }'


async def test_rollback_asks_first_then_releases_the_earlier_slug(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner
) -> None:
    # given an app with two releases
    await shop_pipeline(gql)
    await deploy(gql, app="shop-prod-eu", commit="1111111aaaaaaa", message="First")
    await deploy(gql, app="shop-prod-eu", commit="2222222bbbbbbb", message="Second")
    page = browser_page.page
    await browser_page.sign_in(gql.actor.user)
    await page.goto(f"{browser_page.base_url}/apps/shop-prod-eu")

    # when its owner asks to roll back to v1, changes their mind, then confirms
    await page.get_by_role("button", name="Roll back to v1…").click()
    confirm = page.get_by_role("group", name="Confirm rollback to v1")
    await expect(confirm.get_by_role("button", name="Roll back")).to_be_focused()
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    await page.get_by_role("button", name="Roll back to v1…").click()
    await confirm.get_by_role("button", name="Roll back").click()

    # then v3 is current, made from v1, and the page shows it
    v3 = page.get_by_role("listitem", name="v3", exact=True)
    await expect(v3).to_contain_text("Current")
    await expect(v3).to_contain_text("from shop-prod-eu v1")
    current = (await gql(ROLLED_BACK))["app"]["currentRelease"]
    assert current == {"version": 3, "sourceRelease": {"version": 1}}


async def test_the_card_menu_moves_an_app_and_a_refusal_shows_the_apis_message(
    browser_page: BrowserPage, gql: GraphQLClient
) -> None:
    # given the pipeline's owner on its overview
    await shop_pipeline(gql)
    page = browser_page.page
    await browser_page.sign_in(gql.actor.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop")

    # when shop-review is moved to development from its card's menu
    await page.get_by_label("Manage shop-review").click()
    review = page.get_by_role("article", name="shop-review")
    await review.get_by_label("Stage").select_option("DEVELOPMENT")
    await review.get_by_role("button", name="Move", exact=True).click()

    # then its card is in the development column
    development = page.get_by_role("region", name=re.compile("Development"))
    await expect(development.get_by_role("article", name="shop-review")).to_be_visible()

    # and when the pipeline is renamed to a name the API refuses, the page says what the API said, and nothing changed
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_label("Pipeline name").fill("Not A Name!")
    await page.get_by_role("button", name="Rename").click()
    refusal = (await gql(RENAME, {"name": "Not A Name!"}))["renamePipeline"]["userErrors"][0]["message"]
    await expect(page.get_by_role("alert")).to_have_text(refusal)
    assert (await gql('query { pipeline(name: "shop") { name } }'))["pipeline"] == {"name": "shop"}


async def test_controls_show_only_where_the_viewer_may_use_them(
    browser_page: BrowserPage, gql: GraphQLClient, jobs: JobRunner
) -> None:
    # given grace, who may only view shop-staging and shop-prod-eu
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    grace = await make_actor("grace@example.com")
    for app in ("shop-staging", "shop-prod-eu"):
        assert (await gql(SHARE_VIEW, {"app": app}))["addAppCollaborator"]["userErrors"] == []
    page = browser_page.page
    await browser_page.sign_in(grace.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop")

    # then she sees those apps' cards without their management menu, and no way to add apps or change the pipeline
    card = page.get_by_role("article", name="shop-staging")
    await expect(card).to_be_visible()
    await expect(page.get_by_role("article")).to_have_count(2)
    await expect(page.get_by_label(re.compile("^Manage "))).to_have_count(0)
    await expect(page.get_by_text("+ Add app")).to_have_count(0)
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_text("Only the pipeline's owner or an admin of its team")).to_be_visible()
    await expect(page.get_by_role("button", name="Rename")).to_have_count(0)

    # and no promotion is offered, since she may deploy to no app: the API would refuse her one
    await page.get_by_role("link", name="Overview").click()
    await expect(card).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("Promote"))).to_have_count(0)
    assert (await GraphQLClient(gql.http, grace)(PROMOTE))["promote"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_a_grant_holder_outside_the_team_gets_the_controls_the_api_accepts_from_them(
    browser_page: BrowserPage, gql: GraphQLClient
) -> None:
    # given grace, in no team of the pipeline's: view on shop-staging, deploy on shop-prod-eu, and manage on the
    # pipeline's review and CI apps from its access tab
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    grace = await make_actor("grace@example.com")
    for app, permission in (("shop-staging", "VIEW"), ("shop-prod-eu", "DEPLOY")):
        shared = await gql(SHARE, {"app": app, "permissions": [permission]})
        assert shared["addAppCollaborator"]["userErrors"] == []
    granted = await gql(GRANT, {"input": {"pipeline": "shop", "user": "grace@example.com", "permissions": ["MANAGE"]}})
    assert granted["grantPipelineAccess"]["userErrors"] == []
    page = browser_page.page
    await browser_page.sign_in(grace.user)
    await page.goto(f"{browser_page.base_url}/pipelines/shop")

    # when she opens the promote dialog of shop-staging, then only the app she may deploy to is offered, and it works
    await page.get_by_role("button", name="Promote to production…").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("checkbox")).to_have_count(1)
    await expect(dialog.get_by_role("checkbox", name="shop-prod-eu")).to_be_checked()
    await dialog.get_by_role("button", name="Promote to 1 app").click()
    await expect(page).to_have_url(re.compile(r"\?promotion="))
    await expect(dialog).to_have_count(0)

    # and the access tab tells her what she was granted
    await page.get_by_role("link", name="Access").click()
    await expect(page.get_by_text("You were granted Manage on this pipeline's review and CI apps.")).to_be_visible()

    # and the tests tab offers her to turn CI on, which the API accepts from her
    await page.get_by_role("link", name="Tests").click()
    await page.get_by_role("button", name="Enable CI").click()
    await expect(page.get_by_text("Every push to the pipeline's apps is tested")).to_be_visible()
    assert (await gql('query { pipeline(name: "shop") { ci { enabled } } }'))["pipeline"]["ci"] == {"enabled": True}


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
async def test_the_pages_are_accessible_and_fit_a_phone(
    browser_page: BrowserPage, gql: GraphQLClient, viewport: dict[str, int]
) -> None:
    if not AXE_SOURCE:
        pytest.skip("axe-core is not installed in web/node_modules: make web")
    # given a pipeline with releases, seen at a desktop's and at a phone's width
    await shop_pipeline(gql)
    await deploy(gql, app="shop-staging")
    await deploy(gql, app="shop-prod-eu")
    page = browser_page.page
    await page.set_viewport_size(viewport)
    await browser_page.sign_in(gql.actor.user)

    for path in ("/", "/pipelines/shop", "/pipelines/shop/history", "/pipelines/shop/settings", "/apps/shop-staging"):
        # when each page is open
        await page.goto(f"{browser_page.base_url}{path}")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await page.wait_for_load_state("networkidle")  # every query answered: the page as it settles, not half-drawn

        # then nothing serious stands in the way of a screen reader or a keyboard, and nothing overflows sideways
        assert await serious_accessibility_violations(page) == [], path
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the {viewport['width']}px window"

    # and the promote dialog is reachable and usable by keyboard alone
    await page.goto(f"{browser_page.base_url}/pipelines/shop")
    promote = page.get_by_role("button", name="Promote to production…")
    await promote.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    assert await serious_accessibility_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
