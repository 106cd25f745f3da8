"""In Chromium at tablet sizes: a suggestion that is the next step after one of her purchases.

The next-step block (:mod:`core.engine.transitions`) learns what buyers of a
piece went on to buy; on the client page the card says so, naming her
purchase: "Clients who bought the <piece> often went on to this".
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_curation_share import assert_touch_friendly, card
from tests.e2e.test_signin_lookup import assert_layout

pytestmark = pytest.mark.e2e

LEADS_ON = "often went on to this"


def _next_step_client(data_dir) -> tuple[str, str, str, str]:
    """A client with a unique name whose suggestions hold a next-step reason.

    Returns the client id, their name, the product and the reason.
    """
    from core.app import bootstrap
    from core.settings import Settings
    from core.suggest.pipeline import Suggester

    settings = Settings(data_dir=data_dir)
    dataset = bootstrap.load_data(settings)
    suggester = Suggester(bootstrap.load_or_fit_model(dataset, settings), dataset)
    clients = dataset.clients
    names = clients["first_name"].astype(str) + " " + clients["last_name"].astype(str)
    usable = clients[
        ~names.duplicated(keep=False) & clients["consent_personalization"].astype(bool)
    ]
    for cid in usable["client_id"].astype(str):
        items = suggester.suggest(cid).items
        for _, row in items.iterrows():
            said = [str(r) for r in row["reasons"] if LEADS_ON in str(r)]
            if said:
                name = str(names[clients["client_id"].astype(str) == cid].iloc[0])
                return cid, name, str(row["product_id"]), said[0]
    pytest.fail("no client of the demo maison has a next-step reason")


def test_a_card_names_the_purchase_that_leads_to_it(
    page: Page, atelier_server, app_helpers, shots_dir, viewport
) -> None:
    client_id, name, product_id, reason = _next_step_client(atelier_server.data_dir)
    app_helpers.sign_in(page, atelier_server, atelier_server.associate_id)
    app_helpers.open_client(page, name)
    shown = card(page, client_id, product_id)
    expect(shown).to_be_visible(timeout=60_000)
    expect(shown).to_contain_text(reason)
    shown.scroll_into_view_if_needed()
    assert_layout(page)
    assert_touch_friendly(page)
    page.screenshot(path=str(shots_dir / f"next-step-{viewport['width']}.png"))
