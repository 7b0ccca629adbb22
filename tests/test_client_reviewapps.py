"""pipelines:connect and reviewapps, reviewapps:enable/disable/create/delete through the real CLI against a live server
(with no GitHub configured, so a review app's job ends ERRORED, saying why): output, --json shapes, refusals."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from tests.support.client_scene import LiveApi, start_dev

CONNECT = """
mutation($i: ConnectRepositoryInput!) { connectRepository(input: $i) { userErrors { message } } }"""
REVIEW_APPS = "query($n: String!) { pipeline(name: $n) { reviewApps { prNumber status } } }"
NO_GITHUB = "GitHub is not configured on this server"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """shop and bare are connected to repositories (review apps not enabled yet); plain is not."""
    for server in start_dev(tmp_path_factory.mktemp("client-reviewapps")):
        for name in ("shop", "bare", "plain", "other"):
            server.pipeline(name, {f"{name}-staging": "staging"})
        for name in ("shop", "bare"):
            connected = server.gql(CONNECT, {"i": {"pipeline": name, "repository": f"acme/{name}"}})
            assert connected["connectRepository"]["userErrors"] == [], connected
        yield server


def _settles(live: LiveApi, pipeline: str, pr_number: int) -> None:
    """Until the review app's job has run (it errors at once here: GitHub is not configured)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        apps = live.gql(REVIEW_APPS, {"n": pipeline})["pipeline"]["reviewApps"]
        if any(app["prNumber"] == pr_number and app["status"] == "ERRORED" for app in apps):
            return
        time.sleep(0.05)
    raise AssertionError(f"the review app of #{pr_number} in {pipeline} never ended")


def test_connect_prints_the_webhook_to_add_on_github(live: LiveApi) -> None:
    # when a pipeline is connected, as a table and as JSON, and with a name that is no repository
    connected = live.cli("pipelines:connect", "other", "--repo", "Acme/Other")
    as_json = json.loads(live.cli("pipelines:connect", "other", "-r", "acme/other", "--json").stdout)
    bad = live.cli("pipelines:connect", "other", "--repo", "not-a-repository")
    stranger = live.cli("pipelines:connect", "other", "--repo", "acme/other", token=live.user("eve@example.com"))

    # then it says where GitHub must send its webhooks, and the secret, once
    assert connected.returncode == 0, connected.stderr
    lines = connected.stdout.splitlines()
    assert lines[:2] == [
        "other is connected to acme/other.",
        "Add this webhook to the repository on GitHub (Settings → Webhooks → Add webhook):",
    ]
    assert lines[2] == f"  Payload URL:  {live.url}/webhooks/github"
    assert lines[3] == "  Content type: application/json"
    assert re.fullmatch(r"  Secret:       [0-9a-f]{64}", lines[4])
    assert connected.stderr == "Linking to repo... done\nThe secret is shown this once: connect again for a new one.\n"
    assert set(as_json) == {"pipeline", "repository", "webhookUrl", "webhookSecret"}
    assert as_json["repository"]["fullName"] == "acme/other"
    assert as_json["webhookSecret"] != lines[4].split()[-1]  # connecting again made a new secret
    # and the refusals carry the API's message and code
    assert bad.returncode == 1
    assert bad.stderr.startswith("Linking to repo... !\nError: ")
    assert bad.stderr.endswith("(INVALID_REPOSITORY)\n")
    assert (stranger.returncode, stranger.stderr.splitlines()[-1]) == (
        1,
        "Error: pipeline other not found (NOT_FOUND)",
    )


def test_enable_and_disable_set_only_the_options_named(live: LiveApi) -> None:
    # when review apps are enabled, then options turned on, then one off, then all off
    enabled = live.cli("reviewapps:enable", "-p", "shop")
    shown_plain = live.cli("reviewapps", "-p", "shop")
    options = live.cli("reviewapps:enable", "-p", "shop", "--autodeploy", "--autodestroy", "--stale-days", "3")
    shown_on = live.cli("reviewapps", "-a", "shop-staging")
    one_off = live.cli("reviewapps:disable", "-p", "shop", "--no-autodestroy")
    shown_one_off = live.cli("reviewapps", "-p", "shop")
    all_off = live.cli("reviewapps:disable", "-p", "shop", "--no-autodeploy", "--no-autodestroy", "--no-wait-for-ci")
    shown_off = live.cli("reviewapps", "-p", "shop")
    disabled = live.cli("reviewapps:disable", "-a", "shop-staging")
    shown_disabled = live.cli("reviewapps", "-p", "shop")

    # then each says what it turns on or off, Heroku's way, and the listing shows the options as they are
    assert (enabled.returncode, enabled.stderr) == (0, "Configuring pipeline... done\n")
    assert shown_plain.stdout.splitlines()[:2] == [
        "=== shop review apps (acme/shop)",
        "auto deployment: off · auto destroy: off · wait for CI: off · names: shop-pr-N",
    ]
    assert options.stderr == "Enabling auto deployment...\nEnabling auto destroy...\nConfiguring pipeline... done\n"
    assert shown_on.stdout.splitlines()[1] == (
        "auto deployment: on · auto destroy: on after 3 days · wait for CI: off · names: shop-pr-N"
    )
    assert one_off.stderr == "Disabling auto destroy...\nConfiguring pipeline... done\n"
    assert shown_one_off.stdout.splitlines()[1].startswith("auto deployment: on · auto destroy: off · ")
    assert all_off.stderr.splitlines() == [
        "Disabling auto deployment...",
        "Disabling auto destroy...",
        "Disabling wait for CI...",
        "Configuring pipeline... done",
    ]
    assert shown_off.stdout.splitlines()[1].startswith("auto deployment: off · auto destroy: off · wait for CI: off")
    assert shown_off.stdout.splitlines()[-1] == "shop has no review apps."
    # and without options, review apps are disabled (the API's disableReviewApps, Heroku's DELETE)
    assert (disabled.returncode, disabled.stdout, disabled.stderr) == (0, "", "Disabling review apps... done\n")
    assert shown_disabled.stderr == "Review apps are not enabled: pipegraph reviewapps:enable -p shop\n"
    assert shown_disabled.stdout == "=== shop review apps (acme/shop)\nshop has no review apps.\n"


def test_create_list_and_delete_a_review_app(live: LiveApi) -> None:
    live.cli("reviewapps:enable", "-p", "shop")

    # when a review app is asked for a pull request, and listed once its job ran (GitHub is not configured here)
    created = live.cli("reviewapps:create", "-p", "shop", "--pr", "7")
    _settles(live, "shop", 7)
    listing = live.cli("reviewapps", "-p", "shop")
    as_json = json.loads(live.cli("reviewapps", "-p", "shop", "--json").stdout)

    # then it was made PENDING, and the list shows its pull request, app, status and why it errored
    assert created.returncode == 0, created.stderr
    assert created.stdout == "⬢ shop-pr-7: pending\n"
    assert created.stderr == (
        "Creating a review app for pull request #7... done\nRun `pipegraph reviewapps -p shop` to check progress.\n"
    )
    row = listing.stdout.splitlines()[-1]
    assert re.match(rf"#7\s+-\s+⬢ shop-pr-7\s+errored\s+{NO_GITHUB}", row), listing.stdout
    assert [(app["prNumber"], app["appName"], app["status"]) for app in as_json] == [(7, "shop-pr-7", "ERRORED")]
    assert set(as_json[0]) == {
        "id",
        "prNumber",
        "branch",
        "headSha",
        "fork",
        "appName",
        "status",
        "message",
        "createdAt",
        "updatedAt",
    }
    assert as_json[0]["message"].startswith(NO_GITHUB)

    # and deleting it starts its destruction; a pull request without one is not found
    deleted = live.cli("reviewapps:delete", "-p", "shop", "--pr", "7")
    missing = live.cli("reviewapps:delete", "-p", "shop", "--pr", "99")
    assert (deleted.returncode, deleted.stdout) == (0, "⬢ shop-pr-7: deleting\n")
    assert missing.returncode == 1
    assert missing.stderr.endswith("pull request #99 has no review app in shop (NOT_FOUND)\n"), missing.stderr


def test_review_apps_refusals(live: LiveApi) -> None:
    # when review apps are enabled where no repository is connected, and asked for where they are not enabled
    unconnected = live.cli("reviewapps:enable", "-p", "plain")
    not_enabled = live.cli("reviewapps:create", "-p", "bare", "--pr", "1")
    listed = live.cli("reviewapps", "-p", "bare")
    nothing = live.cli("reviewapps:disable", "-p", "bare")

    # then they print the API's message and code and exit 1; listing and disabling say review apps are off
    assert unconnected.returncode == 1
    assert unconnected.stderr.endswith("(NOT_CONNECTED)\n"), unconnected.stderr
    assert not_enabled.returncode == 1
    assert not_enabled.stderr.endswith("enableReviewApps first (REVIEW_APPS_NOT_ENABLED)\n"), not_enabled.stderr
    assert (listed.returncode, listed.stdout) == (0, "=== bare review apps (acme/bare)\nbare has no review apps.\n")
    assert listed.stderr == "Review apps are not enabled: pipegraph reviewapps:enable -p bare\n"
    assert (nothing.returncode, nothing.stderr) == (0, "Review apps are not enabled: nothing to disable.\n")
