"""The try-on service: its one audit entry, its pieces, its limits (tiny data, real database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.app.curation import MAX_K
from core.app.tryon import SHOWN_ACTION, TryOnService
from core.store import Store
from core.suggest.request import SuggestRequest
from core.suggest.session import TryOnSession
from tests.suggest.test_suggest import DotRecommender, make_dataset


@pytest.fixture
def store(atelier_db_url: str) -> Iterator[Store]:
    store = Store.open(url=atelier_db_url)
    yield store
    store.close()


@pytest.fixture
def svc(store: Store) -> TryOnService:
    ds = make_dataset()
    return TryOnService(ds, DotRecommender().fit(ds), store.audit)


def test_a_session_starts_at_a_shop_never_online(svc):
    assert svc.stores() == {"par": "Paris Saint-Honoré", "dxb": "Dubai Design District"}
    assert svc.start("dxb") == TryOnSession("dxb")
    assert svc.start(None).store_id == "dxb"  # the first by name
    assert svc.start("online").store_id == "dxb"


def test_pieces_show_their_kind_and_the_stores_stock(svc):
    session = TryOnSession("par").record("p05", "asked_about").record("p10", "tried_on")
    pieces = svc.pieces(session)
    assert pieces["product_id"].tolist() == ["p05", "p10"]
    assert pieces["kind"].tolist() == ["Asked about", "Tried on"]
    assert pieces["stock_here"].tolist() == [0, 2]  # p05 is out of stock everywhere


def test_the_only_record_is_an_audit_entry_without_products(svc, store):
    session = TryOnSession("par").record("p10", "tried_on").record("p11", "asked_about")
    found = svc.suggestions(session, SuggestRequest(k=5))
    assert len(found.items) == 5 and not found.generic
    svc.record_shown("u1", session)
    entries = store.audit.query(action=SHOWN_ACTION, limit=None)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor_id, entry.target_type, entry.target_id) == ("u1", "session", "")
    assert entry.details == {"store_id": "par", "pieces": 2}


def test_requests_over_the_pages_limit_are_refused(svc):
    session = TryOnSession("par").record("p10", "tried_on")
    with pytest.raises(ValueError, match=f"from 1 to {MAX_K}"):
        svc.suggestions(session, SuggestRequest(k=MAX_K + 1))


def test_kept_state_is_restored_without_what_no_longer_holds(svc):
    kept = [["p10", "tried_on"], ["gone", "tried_on"], ["p11", "bought"], ["p10", "asked_about"],
            ["p12", "asked_about"]]  # fmt: skip
    assert svc.restore("par", kept).pairs() == [("p10", "tried_on"), ("p12", "asked_about")]
    assert svc.restore("nowhere", kept).store_id == "dxb"
    assert svc.restore("par", "not pairs") == TryOnSession("par")
    assert svc.restore("par", None) == TryOnSession("par")
