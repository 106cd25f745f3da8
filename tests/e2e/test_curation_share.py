"""In Chromium at tablet sizes: curate a client's suggestions and share the lookbook.

Sign in, search a client, open them, pin one suggestion (with an internal
note), remove another with a reason, share, download the PDF, and check
that its text holds the pinned product and no score, note or removed
product. Also checks the section's touch targets and takes screenshots.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

pytestmark = pytest.mark.e2e

MIN_TARGET = 44
NOTE = "Internal: client haggles, no discount"
SCORE = re.compile(r"\d+\.\d{2,}")

SMALL_TARGETS = """(min) => [...document.querySelectorAll(
        '[data-testid="stMain"] [class*="st-key-cur"] button,'
        + ' [data-testid="stMain"] [class*="st-key-sugg"] button,'
        + ' [role="dialog"] button, [data-testid="stMain"] [class*="st-key-cur"] input')]
    .filter(el => { const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'
            && !el.closest('[aria-hidden="true"]') && el.type !== 'hidden'; })
    .map(el => ({text: (el.innerText || el.getAttribute('aria-label') || '').slice(0, 30),
                 height: Math.round(el.getBoundingClientRect().height)}))
    .filter(t => t.height < min)"""

NO_SIDEWAYS = """() => { const m = document.querySelector('[data-testid="stMain"]');
    return [document.scrollingElement.scrollWidth <= window.innerWidth,
            m.scrollWidth <= m.clientWidth]; }"""


def pick_client(data_dir: Path, associate_id: str, n: int) -> tuple[str, str]:
    """A client with both consents, a unique name and no recent contact (the associate's first)."""
    clients = pd.read_csv(data_dir / "clients.csv", dtype=str, keep_default_na=False)
    names = clients["first_name"] + " " + clients["last_name"]
    ok = (
        (clients["consent_personalization"].str.lower() == "true")
        & (clients["consent_contact"].str.lower() == "true")
        & (clients["last_contacted_at"] == "")
        & ~names.duplicated(keep=False)
    )
    usable = clients[ok]
    own = usable["assigned_associate_id"] == associate_id
    row = pd.concat([usable[own], usable[~own]]).iloc[n]
    return str(row["client_id"]), f"{row['first_name']} {row['last_name']}"


def cards(page: Page, client_id: str) -> list[str]:
    """Product ids of the cards on screen, in order."""
    prefix = f"st-key-cur-card-{client_id}-"
    classes = page.eval_on_selector_all(f'[class*="{prefix}"]', "els => els.map(e => e.className)")
    found = []
    for cls in classes:
        for part in cls.split():
            if part.startswith(prefix) and part[len(prefix) :] not in found:
                found.append(part[len(prefix) :])
    return found


def card(page: Page, client_id: str, product_id: str):
    return page.locator(f".st-key-cur-card-{client_id}-{product_id}")


def product_name(page: Page, client_id: str, product_id: str) -> str:
    text = card(page, client_id, product_id).locator(".d2-name").inner_text()
    return re.sub(r"^#\d+\s*", "", text).strip()


def assert_touch_friendly(page: Page) -> None:
    assert page.evaluate(NO_SIDEWAYS) == [True, True], "the page scrolls sideways"
    small = page.evaluate(SMALL_TARGETS, MIN_TARGET)
    assert small == [], f"touch targets under {MIN_TARGET} px: {small}"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_pin_remove_share_and_download_the_lookbook(
    page: Page, atelier_server, app_helpers, shots_dir, viewport, tmp_path
):
    width = viewport["width"]
    shots = [shots_dir]  # ATELIER_SHOTS_DIR keeps them

    def shot(name: str) -> None:
        for folder in shots:
            page.screenshot(path=str(folder / f"{name}-{width}.png"))

    client_id, name = pick_client(
        atelier_server.data_dir, atelier_server.associate_id, 0 if width > 1100 else 1
    )
    app_helpers.sign_in(page, atelier_server, atelier_server.associate_id)

    # Search and open the client.
    app_helpers.open_client(page, name)
    ids = cards(page, client_id)
    assert len(ids) >= 3
    keep, gone = ids[0], ids[1]
    keep_name, gone_name = product_name(page, client_id, keep), product_name(page, client_id, gone)
    assert_touch_friendly(page)
    shot("d2-suggestions")

    # Pin the first suggestion.
    card(page, client_id, keep).get_by_role("button", name="Pin", exact=True).click()
    expect(card(page, client_id, keep).get_by_role("button", name="Pinned")).to_be_visible(
        timeout=30_000
    )
    # An internal note on it (must never reach the client).
    card(page, client_id, keep).get_by_role("button", name="More…").click()
    note = page.get_by_role("textbox", name="Internal note (never shown to the client)")
    note.fill(NOTE)
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_text("Note saved.")).to_be_visible(timeout=30_000)

    # Remove the second with a reason.
    card(page, client_id, gone).get_by_role("button", name="Remove").click()
    page.get_by_role("textbox", name="Details (optional)").fill("already has one in black")
    shot("d2-remove-popover")
    page.get_by_role("button", name="Remove from the selection").click()
    expect(page.get_by_text("will not be suggested to this client again")).to_be_visible(
        timeout=30_000
    )
    app_helpers.wait_for_app(page)
    assert gone not in cards(page, client_id)
    assert keep in cards(page, client_id)
    assert_touch_friendly(page)
    shot("d2-curated")

    # Share.
    page.get_by_role("button", name="Share…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Preview: what the client will see")).to_be_visible(timeout=30_000)
    dialog.get_by_role("textbox", name="Personal message (shown to the client)").fill(
        "It was lovely to see you — here are the pieces we talked about."
    )
    page.keyboard.press("Tab")
    app_helpers.wait_for_app(page)
    shot("d2-share-preview")
    preview = flat(dialog.inner_text())
    assert keep_name in preview and gone_name not in preview and NOTE not in preview
    dialog.get_by_role("button", name="Share with the client").click()
    download_button = dialog.get_by_role("button", name="Download the PDF lookbook")
    expect(download_button).to_be_visible(timeout=30_000)
    shot("d2-shared")
    with page.expect_download(timeout=30_000) as info:
        download_button.click()
    path = tmp_path / "lookbook.pdf"
    info.value.save_as(path)

    text = flat(
        "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
    )
    assert flat(keep_name) in text
    assert flat(gone_name) not in text
    assert NOTE not in text and "Internal" not in text
    assert "score" not in text.lower() and not SCORE.search(text)
    assert "lovely to see you" in text

    # The list is shared and listed on the Lists page.
    dialog.get_by_role("button", name="Done", exact=True).click()
    app_helpers.wait_for_app(page)
    page.get_by_role("link", name="Lists").click()
    expect(page.get_by_role("heading", name="Lists")).to_be_visible(timeout=30_000)
    app_helpers.wait_for_app(page)
    expect(page.get_by_text(name).first).to_be_visible()
    shot("d2-lists")
