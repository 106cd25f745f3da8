"""The Client page under AppTest: cards say what is in stock in her size (and a gift recipient's).

The generated maison stocks ready-to-wear, outerwear, shoes and rings per
size, so its clients' cards carry a size line.
"""

from __future__ import annotations

import pytest

from core.data.dataset import Dataset
from core.data.schema import ONLINE_STORE_ID
from core.suggest.sizes import SIZE_NOT_ON_FILE, SizeStock, client_sizes
from tests.dashboard.test_page_suggestions import click, open_client, run, shown_ids, texts

pytestmark = pytest.mark.usefixtures("atelier_env")


@pytest.fixture(scope="module")
def dataset(atelier_env) -> Dataset:
    from core.app.bootstrap import load_data
    from core.settings import Settings

    return load_data(Settings(data_dir=atelier_env.data_dir))


def _card_line(line: str) -> str:
    return line[:1].upper() + line[1:]


def _sized_clients(ds: Dataset) -> list[str]:
    """Consenting clients of a physical store with their clothing and shoe sizes on file."""
    c = ds.clients
    ok = (
        c["consent_personalization"]
        & (c["size_rtw"] != "")
        & (c["size_shoes"] != "")
        & (c["home_store_id"] != ONLINE_STORE_ID)
        & ~c["client_id"].str.match(r"^(t_|h_)")
    )
    return c.loc[ok, "client_id"].tolist()[-8:]


def test_cards_show_stock_in_her_size(open_app, dataset) -> None:
    stock = SizeStock.of(dataset)
    rows = dataset.clients.set_index("client_id")
    for cid in _sized_clients(dataset)[:4]:
        at = open_client(open_app, cid)
        shown = shown_ids(at, cid)
        assert shown, texts(at)
        home = str(rows.at[cid, "home_store_id"])
        idx = dataset.product_ids.to_internal(shown)
        lines = [x for x in stock.lines(client_sizes(rows.loc[cid]), home, idx) if x]
        if not lines:
            continue  # no sized product among this client's suggestions: try another
        page = texts(at)
        for line in lines:
            assert _card_line(line) in page
            # the rule keeps what is out in her size at home off the list
            assert not line.startswith("no ")
        return
    pytest.fail("no client of the maison was shown a product stocked per size")


def test_gift_ideas_use_the_recipients_size(open_app, dataset) -> None:
    cid = _sized_clients(dataset)[-1]
    home = str(dataset.clients.set_index("client_id").at[cid, "home_store_id"])
    city = SizeStock.of(dataset).store_label(home)
    at = open_client(open_app, cid)
    at.radio(key=f"sugg:{cid}:mode").set_value("Gift ideas")
    at = run(at)
    at.multiselect(key=f"sugg:{cid}:g_cats").set_value(["shoes"])
    at.text_input(key=f"sugg:{cid}:g_size_shoes").set_value("38")
    at = click(at, f"FormSubmitter:sugg:{cid}:gift_form-Find gift ideas")
    page = texts(at)
    prefix = f"cur:{cid}:gift:add:"
    ideas = [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]
    assert ideas, page
    cats = dataset.products.set_index("product_id").loc[ideas, "category"]
    assert (cats == "shoes").any()
    assert "Size 38: " in page and f" in {city}; " in page
    assert "No 38 in" not in page  # out in 38 at her store: not offered
    # other sized pieces (a coat, a ring) say the recipient's size for them is not known
    others = set(cats[cats.isin(["ready-to-wear", "outerwear"])].index)
    if others:
        assert SIZE_NOT_ON_FILE.capitalize() in page
