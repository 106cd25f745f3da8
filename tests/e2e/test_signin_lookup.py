"""In Chromium at tablet sizes: sign in, find a client despite a typo, open them.

Checks what AppTest cannot: the layout (no sideways scroll, touch targets of
44 px or more) and that the demo sign-ins are printed in the terminal.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

MIN_TARGET = 44

NO_SIDEWAYS_SCROLL = """() => {
    const doc = document.scrollingElement;
    const main = document.querySelector('[data-testid="stMain"]');
    return {
        page: [doc.scrollWidth, window.innerWidth],
        main: main ? [main.scrollWidth, main.clientWidth] : null,
    };
}"""

# What a finger hits: buttons, text inputs, tabs, links, the whole select control
# (not its inner input/arrow) and the label of a checkbox/toggle (not the hidden input).
SMALL_TARGETS = """(min) => {
    const inMain = '[data-testid="stMain"] ';
    const sel = [
        'button', 'input:not([type="checkbox"]):not([type="radio"])', '[role="tab"]',
        'a[href]', '[data-baseweb="select"]', 'label[data-baseweb="checkbox"]',
        '[data-testid="stSlider"] [role="group"]',
    ].map(s => inMain + s).join(', ') + ', [data-testid="stTopNavLink"]';
    return [...document.querySelectorAll(sel)]
        .filter(el => !el.parentElement.closest('[data-baseweb="select"]'))
        // Visually hidden inputs (a slider's range input) are not what a finger hits.
        .filter(el => el.parentElement.getBoundingClientRect().height > 1)
        .filter(el => {
            const r = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return r.width > 0 && r.height > 0 && style.visibility !== 'hidden'
                && !el.closest('[aria-hidden="true"]');
        })
        .map(el => ({
            tag: el.tagName, type: el.type || '',
            widget: (el.closest('[data-testid^="st"]') || el).getAttribute('data-testid'),
            text: (el.innerText || el.value || el.getAttribute('aria-label')
                || '').slice(0, 40), height: Math.round(el.getBoundingClientRect().height),
        }))
        .filter(t => t.height < min);
}"""


def assert_layout(page: Page) -> None:
    widths = page.evaluate(NO_SIDEWAYS_SCROLL)
    assert widths["page"][0] <= widths["page"][1], f"page scrolls sideways: {widths}"
    assert widths["main"] is not None
    assert widths["main"][0] <= widths["main"][1], f"stMain scrolls sideways: {widths}"
    small = page.evaluate(SMALL_TARGETS, MIN_TARGET)
    assert small == [], f"touch targets under {MIN_TARGET} px: {small}"


def test_demo_sign_ins_printed_in_terminal(page: Page, atelier_server, app_helpers, shots_dir):
    # The first visit of a fresh server runs start-up (model fit) behind a progress box.
    page.goto(atelier_server.url)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots_dir / "first-start.png"))
    app_helpers.open_sign_in(page, atelier_server)
    creds = atelier_server.credentials()
    assert set(creds) == {"associate", "stylist", "manager", "admin"}
    assert (atelier_server.data_dir / "demo_credentials.csv").is_file()


def test_wrong_password_is_refused(page: Page, atelier_server, app_helpers, shots_dir, viewport):
    app_helpers.open_sign_in(page, atelier_server)
    page.get_by_role("textbox", name="User id").fill(atelier_server.associate_id)
    page.get_by_role("textbox", name="Password").fill("definitely-wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong user id or password.")).to_be_visible(timeout=30_000)
    assert_layout(page)
    page.screenshot(path=str(shots_dir / f"signin-error-{viewport['width']}.png"))


def test_sign_in_search_with_typo_and_open_client(
    page: Page, atelier_server, app_helpers, shots_dir, viewport
):
    width = viewport["width"]
    app_helpers.sign_in(page, atelier_server, atelier_server.associate_id)
    expect(page.get_by_role("heading", name="Your clients")).to_be_visible()
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"lookup-{width}.png")

    box = page.get_by_role("textbox", name="Search clients")
    box.fill(atelier_server.typo_query)
    box.press("Enter")
    app_helpers.wait_for_app(page)
    first_card = page.locator(".st-key-lookup_results button").first
    expect(first_card).to_contain_text(atelier_server.client_name, timeout=30_000)
    assert_layout(page)
    page.screenshot(path=str(shots_dir / f"lookup-results-{width}.png"))
    height = first_card.bounding_box()["height"]
    assert height >= MIN_TARGET

    first_card.click()
    heading = page.get_by_role("heading", name=atelier_server.client_name)
    expect(heading).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    expect(heading).to_be_in_viewport()
    expect(page.get_by_role("tab", name="Suggestions")).to_be_visible()
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"client-{width}.png")

    # Only the open tab runs: a tap on another one reruns the page to build it.
    page.get_by_role("tab", name="Taste & preferences").click()
    expect(page.get_by_role("heading", name="Taste profile")).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"client-taste-{width}.png")
    page.get_by_role("tab", name="Activity").click()
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    assert_layout(page)
    app_helpers.screenshot_main(page, shots_dir / f"client-activity-{width}.png")


def test_no_result_message_in_browser(signed_in_page: Page):
    page = signed_in_page
    box = page.get_by_role("textbox", name="Search clients")
    box.fill("qqxzzy")
    box.press("Enter")
    expect(page.get_by_text(re.compile(r"No client matches 'qqxzzy'"))).to_be_visible(
        timeout=30_000
    )


@pytest.mark.parametrize("role", ["manager", "admin", "stylist"])
def test_each_role_lands_on_its_pages(
    page: Page, atelier_server, app_helpers, shots_dir, viewport, role
):
    app_helpers.open_sign_in(page, atelier_server)
    user_id, password = atelier_server.credentials()[role]
    page.get_by_role("textbox", name="User id").fill(user_id)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("textbox", name="User id")).to_have_count(0, timeout=60_000)
    app_helpers.wait_for_app(page)
    nav = page.locator('[data-testid="stTopNavLink"]')
    titles = [t.strip().splitlines()[-1] for t in nav.all_inner_texts()]  # after the icon
    if role == "manager":  # aggregates only: no client lookup, no client page
        assert "Client lookup" not in titles and "Client" not in titles
    else:
        assert "Client lookup" in titles
    widths = page.evaluate(NO_SIDEWAYS_SCROLL)
    assert widths["page"][0] <= widths["page"][1], widths
    page.screenshot(path=str(shots_dir / f"landing-{role}-{viewport['width']}.png"))
