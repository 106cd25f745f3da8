"""In Chromium at tablet sizes: a walk-in's try-on session, from lookup to "End the session".

Sign in, open the Try-on session from the lookup page, record a piece from the
catalogue search, see the suggestions change, tap "+ Tried on" on one, end the
session; the database keeps only the audit entry, with no product. Also checks
touch targets and sideways scrolling, and takes screenshots.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

MIN_TARGET = 44
SMALL_TARGETS = """(min) => [...document.querySelectorAll(
        '[data-testid="stMain"] [class*="st-key-tryon"] button,'
        + ' [data-testid="stMain"] .stButton button')]
    .filter(el => { const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; })
    .map(el => ({text: (el.innerText || '').slice(0, 30),
                 height: Math.round(el.getBoundingClientRect().height)}))
    .filter(t => t.height < min)"""
NO_SIDEWAYS = """() => { const m = document.querySelector('[data-testid="stMain"]');
    return [document.scrollingElement.scrollWidth <= window.innerWidth,
            m.scrollWidth <= m.clientWidth]; }"""


def card_ids(page: Page, where: str) -> list[str]:
    """Product ids of the session's pieces (``piece``) or suggestions (``sugg``), in order."""
    prefix = f"st-key-tryon-{where}-"
    classes = page.eval_on_selector_all(f'[class*="{prefix}"]', "els => els.map(e => e.className)")
    found: list[str] = []
    for cls in classes:
        for part in cls.split():
            if part.startswith(prefix) and part[len(prefix) :] not in found:
                found.append(part[len(prefix) :])
    return found


def assert_touch_friendly(page: Page) -> None:
    assert page.evaluate(NO_SIDEWAYS) == [True, True], "the page scrolls sideways"
    small = page.evaluate(SMALL_TARGETS, MIN_TARGET)
    assert small == [], f"touch targets under {MIN_TARGET} px: {small}"


def test_a_walk_in_session_from_lookup_to_the_end(
    page: Page, atelier_server, app_helpers, shots_dir, viewport
):
    width = viewport["width"]
    products = pd.read_csv(atelier_server.data_dir / "products.csv", dtype=str)
    app_helpers.sign_in(page, atelier_server, atelier_server.associate_id)

    page.get_by_role("link", name=re.compile("Start a try-on session")).click()
    expect(page.get_by_role("heading", name="Try-on session")).to_be_visible(timeout=60_000)
    app_helpers.wait_for_app(page)
    expect(page.get_by_text("Nothing of this visit is kept.")).to_be_visible()
    generic = card_ids(page, "sugg")
    assert len(generic) == 12 and card_ids(page, "piece") == []

    # Record a piece found by name in the catalogue search.
    piece = generic[4]
    name = str(products.set_index("product_id").loc[piece, "name"])
    box = page.get_by_role("combobox", name="Search the catalogue")
    box.click()
    box.fill(name)
    page.get_by_role("option").first.click()
    page.get_by_role("button", name="Tried on", exact=True).click()
    # The piece's card shows while the run is still drawing the suggestions below it:
    # read them only once the run has ended and the piece's suggestion card is gone.
    expect(page.locator(f".st-key-tryon-piece-{piece}")).to_be_visible(timeout=30_000)
    expect(page.locator(f".st-key-tryon-sugg-{piece}")).to_have_count(0, timeout=30_000)
    app_helpers.wait_for_app(page)
    first = card_ids(page, "sugg")
    assert first != generic and piece not in first
    expect(page.get_by_text("tried on the").first).to_be_visible()
    assert_touch_friendly(page)
    app_helpers.screenshot_main(page, shots_dir / f"tryon-one-piece-{width}.png")

    # One tap on a suggestion records it as tried on: the list changes at once.
    tapped = first[0]
    page.locator(f".st-key-tryon-sugg-{tapped}").get_by_role("button", name="+ Tried on").click()
    expect(page.locator(f".st-key-tryon-piece-{tapped}")).to_be_visible(timeout=30_000)
    expect(page.locator(f".st-key-tryon-sugg-{tapped}")).to_have_count(0, timeout=30_000)
    app_helpers.wait_for_app(page)
    second = card_ids(page, "sugg")
    assert second != first and tapped not in second
    assert card_ids(page, "piece") == [piece, tapped]
    app_helpers.screenshot_main(page, shots_dir / f"tryon-two-pieces-{width}.png")

    # End: nothing left on the page, and the database holds no product of the visit.
    page.get_by_role("button", name="End the session").click()
    expect(page.get_by_text("Session ended: nothing of it was kept.")).to_be_visible(timeout=30_000)
    app_helpers.wait_for_app(page)
    assert card_ids(page, "piece") == []
    page.screenshot(path=str(shots_dir / f"tryon-ended-{width}.png"))

    store = atelier_server._store()
    try:
        entries = store.audit.query(action="session_suggestions", limit=None)
    finally:
        store.close()
    assert entries, "the session's suggestions were not audited"
    for entry in entries:
        assert entry.target_id == "" and set(entry.details) == {"store_id", "pieces"}
        assert piece not in str(entry.details) and tapped not in str(entry.details)
