"""The curation service: drafts from suggestions, regenerate, duplicate, conflicts, shares.

Runs on the session's generated maison and fitted model (``atelier_env``) with a
fresh database of its own, on SQLite and then on PostgreSQL, so nothing here touches
the app's database.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from argon2 import PasswordHasher

from core.app import bootstrap
from core.app.curation import CurationService
from core.app.list_views import filter_lists
from core.app.lookbook import lookbook_message
from core.exceptions import ConsentError
from core.settings import Settings
from core.store import SYSTEM_ACTOR, ListConflictError, NewItem, Store
from core.suggest.request import SuggestRequest


@pytest.fixture(scope="module")
def engine_parts(atelier_env):
    settings = Settings(data_dir=atelier_env.data_dir)
    dataset = bootstrap.load_data(settings)
    model = bootstrap.load_or_fit_model(dataset, settings)
    return dataset, model


@pytest.fixture
def store(engine_parts, atelier_db_url: str) -> Iterator[Store]:
    """A fresh database on this run's backend (SQLite, then PostgreSQL)."""
    dataset, _ = engine_parts
    store = Store.open(
        url=atelier_db_url, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )
    store.users.seed_users_from_associates(dataset.associates, actor_id=SYSTEM_ACTOR)
    yield store
    store.close()


@pytest.fixture
def svc(engine_parts, store) -> CurationService:
    dataset, model = engine_parts
    return CurationService(dataset, model, store)


def user(svc: CurationService, role: str, n: int = 0) -> str:
    a = svc.dataset.associates
    return str(a.loc[a["role"] == role, "user_id"].iloc[n])


def store_of(svc: CurationService, user_id: str) -> str:
    a = svc.dataset.associates.set_index("user_id")
    return str(a.loc[user_id, "store_id"])


def client(
    svc: CurationService,
    *,
    personal: bool = True,
    contact: bool = True,
    n: int = 0,
    store: str | None = None,
) -> str:
    """A generated client; with ``store``, one of that home store (lists shared there)."""
    c = svc.dataset.clients
    rows = c[
        (c["consent_personalization"] == personal)
        & (c["consent_contact"] == contact)
        & ~c["client_id"].str.match(r"^(t_|h_)")
        & ((c["home_store_id"] == store) if store is not None else True)
    ]
    return str(rows["client_id"].iloc[n])


PARAMS = SuggestRequest(k=10)


def draft(svc: CurationService, cid: str, who: str, params: SuggestRequest = PARAMS):
    found = svc.suggestions(cid, params, personalised=True)
    return svc.create_draft(cid, who, found.items)


# ------------------------------------------------------------------ params
def test_params_are_checked():
    with pytest.raises(ValueError, match="k must be"):
        SuggestRequest(k=0)
    with pytest.raises(ValueError, match="diversity"):
        SuggestRequest(diversity=1.5)
    with pytest.raises(ValueError, match="swap them"):
        SuggestRequest(price_min=500, price_max=100)


# ------------------------------------------------------------------ suggestions
def test_suggestions_carry_product_data_stock_and_reasons(svc):
    cid = client(svc)
    found = svc.suggestions(cid, PARAMS, personalised=True)
    items = found.items
    assert len(items) == 10 and not found.generic
    for col in ("name", "designer", "price", "stock_here", "stock_online", "reason",
                "client_reason"):  # fmt: skip
        assert col in items.columns
    assert (items["stock_here"] + items["stock_online"] > 0).all()
    assert items["reason"].str.len().gt(0).all()


def test_generic_without_personalisation(svc):
    cid = client(svc, personal=False)
    found = svc.suggestions(cid, PARAMS, personalised=False)
    assert found.generic and found.banner
    assert set(found.items["source"]) == {"generic"}


def test_client_wording_never_mentions_hidden_signals(svc):
    events = svc.dataset.events
    viewers = events.loc[events["event_type"].isin(["view", "zoom", "email_click"]), "client_id"]
    c = svc.dataset.clients.set_index("client_id")
    cid = next(x for x in viewers.unique() if bool(c.loc[x, "consent_personalization"]))
    rec = draft(svc, cid, user(svc, "associate"))
    wording = svc.client_wording(rec, personalised=True)
    text = " ".join(wording.values()).lower()
    for word in ("view", "zoom", "email", "clicked", "opened", "score"):
        assert word not in text
    assert not re.search(r"\d+\.\d+", text)


# ------------------------------------------------------------------ regenerate
def test_regenerate_keeps_pinned_in_place_and_never_readds_removed(svc):
    who = user(svc, "associate")
    cid = client(svc, n=1)
    rec = draft(svc, cid, who)
    pinned, top = rec.product_ids[2], rec.product_ids[0]
    rec = svc.set_pinned(rec, pinned, True, who)
    rec = svc.remove(rec, top, "Not the client's style", who)
    assert top not in rec.product_ids
    for _ in range(2):
        rec = svc.regenerate(rec, who, SuggestRequest(k=10, diversity=0.8), personalised=True)
        assert top not in rec.product_ids
        assert rec.pinned_ids == [pinned]
    assert rec.product_ids.index(pinned) <= 2
    assert len(rec.items) == 10
    assert top in svc.lists.removed_products(cid)


def test_regenerate_keeps_hand_added_items_and_skips_removed_category(svc):
    who = user(svc, "associate")
    cid = client(svc, n=2)
    rec = draft(svc, cid, who)
    extra = next(p for p in svc.dataset.products["product_id"] if p not in rec.product_ids)
    rec = svc.add_product(rec, extra, who)
    victim = rec.product_ids[1]
    category = str(svc.dataset.product(victim)["category"])
    rec = svc.remove(rec, victim, "Not for this client", who, whole_category=True)
    rec = svc.regenerate(rec, who, PARAMS, personalised=True)
    assert extra in rec.product_ids and rec.item(extra).source == "manual"
    cats = svc.products_frame(rec.product_ids)["category"]
    hand = str(svc.dataset.product(extra)["category"])
    assert category not in set(cats) - {hand}


def test_regenerate_with_no_personalisation_gives_generic_items(svc):
    who = user(svc, "associate")
    cid = client(svc, personal=False, n=1)
    found = svc.suggestions(cid, PARAMS, personalised=False)
    rec = svc.create_draft(cid, who, found.items)
    rec = svc.regenerate(rec, who, SuggestRequest(k=6), personalised=False)
    assert len(rec.items) == 6


# ------------------------------------------------------------------ conflicts
def test_stale_version_raises_conflict_and_writes_nothing(svc):
    who, other = user(svc, "associate"), user(svc, "stylist")
    # A colleague of the client's store (the access policy lets them edit the list).
    assert store_of(svc, who) == store_of(svc, other)
    cid = client(svc, n=3, store=store_of(svc, who))
    rec = draft(svc, cid, who)
    newer = svc.set_note(rec, None, "from the other tablet", other)
    with pytest.raises(ListConflictError, match="changed by") as err:
        svc.set_pinned(rec, rec.product_ids[0], True, who)
    assert err.value.changed_by == other
    with pytest.raises(ListConflictError):
        svc.regenerate(rec, who, PARAMS, personalised=True)
    with pytest.raises(ListConflictError):
        svc.move(rec, rec.product_ids[0], 1, who)
    with pytest.raises(ListConflictError):
        svc.remove(rec, rec.product_ids[0], "x", who)
    current = svc.lists.get_list(rec.list_id)
    assert current.version == newer.version
    assert current.pinned_ids == [] and current.product_ids == rec.product_ids
    assert svc.lists.removed_products(cid) == set()


def test_move_up_and_down(svc):
    who = user(svc, "associate")
    rec = draft(svc, client(svc, n=4), who)
    a, b = rec.product_ids[:2]
    rec = svc.move(rec, a, 1, who)
    assert rec.product_ids[:2] == [b, a]
    rec = svc.move(rec, a, -5, who)
    assert rec.product_ids[0] == a
    assert svc.move(rec, a, -1, who) is rec  # already first: nothing to do


# ------------------------------------------------------------------ duplicate
def test_duplicate_rechecks_the_other_clients_rules(svc):
    who = user(svc, "stylist")
    source_client = client(svc, n=5)
    target = client(svc, n=6)
    rec = draft(svc, source_client, who)
    # What the target bought (kept) is excluded for them by "already_bought".
    events = svc.dataset.events
    bought = events.loc[
        (events["client_id"] == target) & (events["event_type"] == "purchase")
        & ~events["is_gift"], "product_id"
    ]  # fmt: skip
    excluded = svc.recheck(list(bought.unique()), target)
    extra = list(excluded["product_id"][:1])
    removed_for_target = rec.product_ids[0]
    svc.lists.record_removal(target, removed_for_target, "Not her style", who)
    for pid in extra:
        if pid not in rec.product_ids:
            rec = svc.add_product(rec, pid, who)
    result = svc.duplicate(rec.list_id, target, who)
    dropped = set(result.dropped["product_id"])
    assert removed_for_target in dropped
    assert set(extra) <= dropped
    assert not dropped & set(result.record.product_ids)
    assert set(result.record.product_ids) == set(rec.product_ids) - dropped
    rules = dict(zip(result.dropped["product_id"], result.dropped["rule"], strict=True))
    assert rules[removed_for_target] == "removed_by_associate"
    assert result.record.client_id == target and result.record.status == "draft"
    assert (result.dropped["name"].str.len() > 0).all()


def test_duplicate_drops_out_of_stock_at_the_new_clients_store(svc):
    who = user(svc, "stylist")
    ctx_stock = svc.dataset.stock
    target = client(svc, n=7)
    home = svc.home_store(target)
    from core.suggest.catalogue import Catalogue

    ctx = Catalogue.of(svc.dataset)
    qty = ctx.quantity((home, *ctx.online_stores))
    out = svc.dataset.product_ids.external_ids[np.flatnonzero(qty <= 0)]
    if len(out) == 0:
        pytest.skip("every product is in stock at this store")
    rec = svc.lists.create_list(
        client(svc, n=8), who, "Hand-picked", items=[NewItem(str(out[0]), source="manual")]
    )
    result = svc.duplicate(rec.list_id, target, who)
    assert result.record.product_ids == []
    assert result.dropped["rule"].tolist() == ["out_of_stock"]
    assert isinstance(ctx_stock, pd.DataFrame)


# ------------------------------------------------------------------ share
def test_share_needs_contact_consent(svc):
    who = user(svc, "associate")
    cid = client(svc, contact=False)
    rec = draft(svc, cid, who)
    book = svc.lookbook(rec, "Claire", personalised=True)
    with pytest.raises(ConsentError, match="not agreed to be contacted"):
        svc.share(rec, book, "pdf", who)
    assert svc.store.shares.shares_for_client(cid) == []
    svc.record_consent(cid, "consent_contact", who, "signed in store")
    outcome = svc.share(rec, book, "pdf", who)
    assert outcome.share.client_id == cid


def test_share_snapshot_is_what_the_client_saw(svc):
    who = user(svc, "associate")
    cid = client(svc, n=9)
    rec = draft(svc, cid, who)
    rec = svc.set_pinned(rec, rec.product_ids[1], True, who)
    rec = svc.set_note(rec, rec.product_ids[1], "INTERNAL: VIP discount", who)
    book = svc.lookbook(rec, "Claire Martin", personalised=True, message="Hello <b>you</b>")
    outcome = svc.share(rec, book, "message", who)
    snap = outcome.share.snapshot
    assert snap["message_text"] == lookbook_message(book) == outcome.message
    assert [i["product_id"] for i in snap["items"]] == book.product_ids
    assert rec.product_ids[1] in book.product_ids
    text = str(snap)
    assert "INTERNAL" not in text and "score" not in text.lower()
    assert svc.lists.get_list(rec.list_id).status == "shared"
    stale = dataclasses.replace(rec, version=rec.version)
    with pytest.raises(ListConflictError):
        svc.share(stale, book, "pdf", who)  # the share itself bumped the version


def test_sensitive_products_only_when_added_by_hand(svc):
    who = user(svc, "associate")
    cid = client(svc, n=10)
    sensitive = svc.dataset.products.loc[svc.dataset.products["sensitive"], "product_id"]
    if sensitive.empty:
        pytest.skip("no sensitive product in this maison")
    pid = str(sensitive.iloc[0])
    by_model = svc.lists.create_list(cid, who, "t", items=[NewItem(pid, source="model")])
    assert pid not in svc.lookbook(by_model, "C", personalised=True).product_ids
    by_hand = svc.lists.create_list(cid, who, "t", items=[NewItem(pid, source="manual")])
    assert pid in svc.lookbook(by_hand, "C", personalised=True).product_ids


# ------------------------------------------------------------------ lists page
def test_lists_frame_and_filters(svc):
    who, other = user(svc, "associate"), user(svc, "stylist")
    # Clients of the associate's store: the colleague's list is visible to them too.
    home = store_of(svc, who)
    a = draft(svc, client(svc, n=11, store=home), who)
    b = draft(svc, client(svc, n=12, store=home), other)
    svc.archive(b, other)
    frame = svc.lists_frame(svc.visible_lists(who))
    assert set(frame["list_id"]) == {a.list_id, b.list_id}
    assert filter_lists(frame, author_id=who)["list_id"].tolist() == [a.list_id]
    assert filter_lists(frame, statuses=["archived"])["list_id"].tolist() == [b.list_id]
    name = frame.loc[frame["list_id"] == a.list_id, "client_name"].iloc[0]
    first_word = name.split()[0].lower()
    assert a.list_id in filter_lists(frame, query=first_word.upper())["list_id"].tolist()
    assert filter_lists(frame, query="zzz-no-such-list").empty
