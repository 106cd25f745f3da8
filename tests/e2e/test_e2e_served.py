"""In Chromium at tablet sizes: a house served per client (``ATELIER_SERVE=per-client``).

The app process holds products, clients and the product-side model of the
scale-out fit, and reads the open client's events per request. What an
associate does is the same as on the in-memory app: find a client despite a
typo, open them, see suggestions with reasons, pieces similar to one of them
and their activity; a manager
sees Trends from the house's sums.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_signin_lookup import assert_layout

pytestmark = pytest.mark.e2e


def test_associate_opens_a_served_client(
    page: Page, served_server, app_helpers, shots_dir, viewport
) -> None:
    width = viewport["width"]
    app_helpers.sign_in(page, served_server, served_server.associate_id)
    box = page.get_by_role("textbox", name="Search clients")
    box.fill(served_server.typo_query)
    box.press("Enter")
    app_helpers.wait_for_app(page)
    first_card = page.locator(".st-key-lookup_results button").first
    expect(first_card).to_contain_text(served_server.client_name, timeout=30_000)
    expect(first_card).to_contain_text("last activity")  # read from the partitioned events
    first_card.click()
    heading = page.get_by_role("heading", name=served_server.client_name)
    expect(heading).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    # suggestions with reasons, from the events read for this client
    cards = page.locator(f'[class*="st-key-cur-card-{served_server.client_id}-"]')
    expect(cards.first).to_be_visible(timeout=60_000)
    assert cards.count() >= 6
    expect(page.get_by_text("history is not used")).to_have_count(0)
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"served-client-{width}.png")
    # "Similar pieces" from a card: the anchor's category, within her rules
    cards.first.get_by_role("button", name="More…").click()
    cards.first.get_by_role("button", name="Similar pieces").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Pieces like")).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    offered = dialog.locator('[class*="-look-add-"] button')
    expect(offered.first).to_be_visible()
    assert offered.count() >= 3
    page.screenshot(path=str(shots_dir / f"served-similar-{width}.png"))
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=30_000)
    app_helpers.wait_for_app(page)
    page.get_by_role("tab", name="Activity").click()
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    expect(page.get_by_text("No purchases, try-ons or wishlists yet.")).to_have_count(0)
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"served-activity-{width}.png")


def test_manager_sees_trends_of_a_served_house(
    page: Page, served_server, app_helpers, shots_dir, viewport
) -> None:
    app_helpers.open_sign_in(page, served_server)
    user_id, password = served_server.credentials()["manager"]
    page.get_by_role("textbox", name="User id").fill(user_id)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Trends").wait_for(timeout=180_000)
    app_helpers.wait_for_app(page)
    charts = page.locator(".js-plotly-plot")
    expect(charts.first).to_be_visible(timeout=60_000)
    expect(charts.nth(2)).to_be_attached(timeout=60_000)  # charts arrive one after another
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"served-trends-{viewport['width']}.png")
