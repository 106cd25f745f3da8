"""The access policy, cell by cell, through the pages (AppTest).

Every (role, page, action, scope) cell that :data:`core.app.access.PAGE_ACTIONS`
and :data:`core.app.access.POLICY` declare is tried on the running app: pages
opened by URL (``switch_page``), the selected client, the open list id and the
share dialog's state forced into session state. An allowed cell must work; a
denied one must show nothing of the record and write nothing. Expected
outcomes come from the declaration (``can_open_page`` and ``allows``), so a
changed rule changes what is tested.

The people: for each role, a user placed in each scope relative to one
generated client (the client's assigned associate, moved to another store and
given the role; a user of the client's store; one of another store; the
author of a list), and a colleague of the client's store who writes the lists
of the client scopes. Lists hold sensitive products, which are never
suggested, so seeing one on the page means the list was shown.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.access import ACTIONS, CLIENT_SCOPES, LIST_SCOPES, PAGE_ACTIONS, allows
from core.app.access import can_open_page as page_allows
from core.data.schema import ROLES
from core.store import SYSTEM_ACTOR, NewItem
from core.store.records import CuratedListRecord
from dashboard import state

pytestmark = [pytest.mark.security, pytest.mark.usefixtures("atelier_env")]

PAGES = ("lookup", "client", "lists")
SECRET = "Secret-of-the-list"
CHOSEN = "probe-chosen-password"


def scopes_of(action: str) -> tuple[str, ...]:
    return LIST_SCOPES if ACTIONS[action].target == "list" else CLIENT_SCOPES


#: Every page cell of the declaration: (role, page, action, scope).
PAGE_CELLS = [
    (role, page, action, scope)
    for role in ROLES
    for page in PAGES
    for action in PAGE_ACTIONS[page]
    for scope in scopes_of(action)
]
#: One AppTest session per (role, page, scope) tries that scope's actions of the page.
GROUPS = sorted({(role, page, scope) for role, page, _, scope in PAGE_CELLS})


def actions_in(page: str, scope: str) -> set[str]:
    return {a for a in PAGE_ACTIONS[page] if scope in scopes_of(a)}


# ------------------------------------------------------------------ helpers
def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def has_button(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)


def texts(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text", "code"):  # fmt: skip
        parts += [str(e.value) for e in at.get(kind)]
    parts += [str(b.label) for b in at.button]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts)).replace("\u2060", "")


def errors(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.error)


@dataclass
class Scene:
    """The client every cell is about, the people around it, and the store."""

    store: Any
    client: pd.Series
    users: dict[tuple[str, str], str]  # (role, scope) -> user id
    assigned: str  # the client's assigned associate (given each role in turn)
    home: str
    away: str
    colleague: str
    markers: list[str]  # sensitive products: in every test list, never suggested
    marker_names: list[str]
    bystander: str  # another client, for lists that must not be about the client

    @property
    def cid(self) -> str:
        return str(self.client["client_id"])

    @property
    def name(self) -> str:
        return f"{self.client['first_name']} {self.client['last_name']}"

    def written(self) -> tuple[object, ...]:
        """What a refused action must not change: the client's lists, shares, consent, removals."""
        lists = self.store.lists.lists_for_client(self.cid, include_archived=True)
        return (
            [dataclasses.astuple(r) for r in lists],
            [s.id for s in self.store.shares.shares_for_client(self.cid)],
            self.store.consent.consent_history(self.cid),
            self.store.lists.removals_for_client(self.cid),
        )

    def new_list(self, role: str, scope: str) -> CuratedListRecord:
        """A fresh, shared list in ``scope`` of the user of ``(role, scope)``."""
        author = self.users[(role, "own_list")] if scope == "own_list" else self.colleague
        if scope == "own_list":  # written while a curator (a manager now may have been one)
            self.store.users.set_role(author, "associate", actor_id=SYSTEM_ACTOR)
        rec = self.store.lists.create_list(
            self.cid, author, f"{SECRET} title {uuid.uuid4().hex[:6]}", note=f"{SECRET} note",
            items=[NewItem(p, source="manual") for p in self.markers],
        )  # fmt: skip
        self.store.shares.record_share(
            rec.list_id, "pdf", {"message": f"{SECRET} message", "items": []}, author,
            consent_contact=True,
        )  # fmt: skip
        if scope == "own_list":
            self.store.users.set_role(author, role, actor_id=SYSTEM_ACTOR)
        return self.store.lists.get_list(rec.list_id)

    def own_list_of(self, user_id: str, role: str) -> CuratedListRecord:
        """A list written by ``user_id`` (for another client), so the Lists page has a row."""
        self.store.users.set_role(user_id, "associate", actor_id=SYSTEM_ACTOR)
        try:
            return self.store.lists.create_list(self.bystander, user_id, "Probe's own list")
        finally:
            self.store.users.set_role(user_id, role, actor_id=SYSTEM_ACTOR)


@pytest.fixture(scope="module")
def scene(atelier_env) -> Iterator[Scene]:
    from core.app.bootstrap import load_data
    from core.settings import Settings
    from core.store import Store

    app_store = Store.open(url=atelier_env.database_url)

    dataset = load_data(Settings(data_dir=atelier_env.data_dir))
    taken = {u.user_id for u in atelier_env.users.values()}
    c = dataset.clients
    ok = (
        c["email"].fillna("").str.contains("@")
        & (c["phone"].fillna("").str.len() > 6)
        & c["assigned_associate_id"].notna()
        & ~c["assigned_associate_id"].isin(taken)
        & c["consent_contact"].astype(bool)
        & ~c["client_id"].str.match(r"^(t_|h_)")
    )
    client = c[ok].iloc[len(c[ok]) // 3]
    home = str(client["home_store_id"])
    stores = [s for s in dataset.stores["store_id"].astype(str) if s != home]
    away = stores[0]
    products = dataset.products
    names = products["name"].astype(str)
    sensitive = products[products["sensitive"].astype(bool) & ~names.duplicated(keep=False)]
    assert len(sensitive) >= 2, "the maison needs sensitive products"
    markers = [str(p) for p in sensitive["product_id"].iloc[:2]]
    marker_names = [str(n) for n in sensitive["name"].iloc[:2]]

    accounts = app_store.users

    def make(uid: str, name: str, role: str, store: str) -> None:
        # With a password of their own, as after a first sign-in (until then only Account opens).
        _, given = accounts.create_user(uid, name, role, store, actor_id=SYSTEM_ACTOR)
        accounts.change_password(uid, given, CHOSEN)

    users: dict[tuple[str, str], str] = {}
    assigned = str(client["assigned_associate_id"])
    before = accounts.get_user(assigned)
    if before.must_change_password:
        accounts.change_password(
            assigned, accounts.reset_password(assigned, actor_id=SYSTEM_ACTOR), CHOSEN
        )
    for role in ROLES:
        for scope, store in (("own_store", home), ("other_store", away), ("own_list", away)):
            uid = f"pg-{role}-{scope}"
            make(uid, f"Probe {role} {scope}", role, store)
            users[(role, scope)] = uid
        users[(role, "own_client")] = assigned
    colleague = "pg-colleague"
    make(colleague, "Probe Colleague", "associate", home)
    others = c[ok & (c["home_store_id"] == away)]
    bystander = str(others["client_id"].iloc[len(others) // 3])
    yield Scene(app_store, client, users, assigned, home, away, colleague, markers, marker_names,
                bystander)  # fmt: skip
    app_store.users.set_role(assigned, before.role, actor_id=SYSTEM_ACTOR)
    app_store.users.set_store(assigned, before.store_id, actor_id=SYSTEM_ACTOR)
    consent = bool(client["consent_personalization"])
    app_store.consent.record_consent_change(
        str(client["client_id"]), "consent_personalization", consent, SYSTEM_ACTOR, "test over"
    )
    app_store.close()


@pytest.fixture
def as_role(scene: Scene) -> Callable[[str], None]:
    """Give the client's assigned associate ``role``, in another store (own client, not store)."""

    def give(role: str) -> None:
        scene.store.users.set_role(scene.assigned, role, actor_id=SYSTEM_ACTOR)
        scene.store.users.set_store(scene.assigned, scene.away, actor_id=SYSTEM_ACTOR)

    return give


# ------------------------------------------------------------------ sessions, one per page
Outcomes = dict[str, bool]


def refused_page(at: AppTest, scene: Scene, role: str, page: str) -> None:
    assert f"not available for your role ({role})" in errors(at)
    text = texts(at)
    assert scene.name not in text and SECRET not in text
    assert not any(n in text for n in scene.marker_names)


def _lookup(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    at = open_app(user_id=uid, page="lookup")
    if not page_allows(role, "lookup"):
        refused_page(at, scene, role, "lookup")
        return dict.fromkeys(actions_in("lookup", scope), False)
    card = f"lookup_card_{scene.cid}"
    found = []
    for kind in ("phone", "email"):
        at.text_input(key="lookup_query").input(str(scene.client[kind]))
        run(at)
        found.append(has_button(at, card))
        if not found[-1]:  # nobody named (the "no match" message only repeats the query)
            assert scene.name not in texts(at)
    assert found[0] == found[1], found
    at.text_input(key="lookup_query").input(scene.name)
    run(at)
    opened = has_button(at, card)
    if opened:
        click(at, card)
        opened = bool(at.header) and scene.name in texts(at)
    return {"search_contact": found[0], "open_client": opened}


def _client_scope(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    """Open the client (forced selected id): header, contact, consent, a new list."""
    cid = scene.cid
    # Without personalisation consent the page offers to record it.
    scene.store.consent.record_consent_change(
        cid, "consent_personalization", False, SYSTEM_ACTOR, "reset by the test"
    )
    at = open_app(user_id=uid, page="client", state={state.SELECTED_CLIENT: cid})
    if not page_allows(role, "client"):
        refused_page(at, scene, role, "client")
        return dict.fromkeys(actions_in("client", scope), False)
    out: Outcomes = {}
    out["open_client"] = bool(at.header) and scene.name in texts(at)
    if not out["open_client"]:
        assert scene.name not in texts(at)
    text = texts(at)
    shown = [str(scene.client[k]) in text for k in ("email", "phone")]
    assert shown[0] == shown[1], shown
    out["see_contact"] = shown[0]

    before, history = scene.written(), len(scene.store.consent.consent_history(cid))
    out["record_consent"] = False
    if has_button(at, f"sugg:{cid}:consent_go"):
        click(at, f"sugg:{cid}:consent_go")
        changes = scene.store.consent.consent_history(cid)
        out["record_consent"] = len(changes) == history + 1 and changes[-1].changed_by == uid
    if not out["record_consent"]:
        assert scene.written() == before

    before = scene.written()
    if has_button(at, f"cur:{cid}:new"):  # a list is open: start a fresh selection
        click(at, f"cur:{cid}:new")
    pins = [b.key for b in at.button if b.key and b.key.startswith(f"cur:{cid}:pin:")]
    out["create_list"] = False
    if pins:
        ids = {r.list_id for r in scene.store.lists.lists_for_client(cid, include_archived=True)}
        click(at, pins[0])
        made = [r for r in scene.store.lists.lists_for_client(cid) if r.list_id not in ids]
        out["create_list"] = len(made) == 1 and made[0].author_id == uid
    if not out["create_list"]:
        assert scene.written() == before
    return out


def _client_list(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    """Open the client with a list id forced into session state: view, pin, share."""
    cid = scene.cid
    rec = scene.new_list(role, scope)
    share = scene.store.shares.shares_for_client(cid)[0]
    assert share.list_id == rec.list_id
    forced = {state.SELECTED_CLIENT: cid, state.DRAFT_LIST: rec.list_id}
    before = scene.written()
    at = open_app(user_id=uid, page="client", state=forced)
    if not page_allows(role, "client"):
        refused_page(at, scene, role, "client")
        assert scene.written() == before
        return dict.fromkeys(actions_in("client", scope), False)
    out: Outcomes = {}
    text = texts(at)
    seen = [name in text for name in scene.marker_names]
    out["view_list"] = all(seen) and at.session_state[state.DRAFT_LIST] == rec.list_id
    if not out["view_list"]:
        assert not any(seen) and at.session_state[state.DRAFT_LIST] != rec.list_id
        assert "You may not open this list" in errors(at) and SECRET not in text

    pin = f"cur:{cid}:pin:{scene.markers[0]}"
    out["edit_list"] = False
    if has_button(at, pin):
        click(at, pin)
        now = scene.store.lists.get_list(rec.list_id)
        out["edit_list"] = now.version == rec.version + 1 and scene.markers[0] in now.pinned_ids
    if not out["edit_list"]:
        assert scene.written() == before

    before = scene.written()
    out["share_list"] = _share_from_page(at, scene, rec, uid)
    if not out["share_list"]:
        assert scene.written() == before
        # A share id forced into the dialog shows nothing of a list the user may not see.
        at.session_state[f"share:{cid}:open"] = True
        at.session_state[f"share:{cid}:done"] = share.id
        run(at)
        if not out["view_list"]:
            assert f"{SECRET} message" not in texts(at)
            assert "could not be found" in texts(at)
        at.session_state[f"share:{cid}:open"] = False
        at.session_state[f"share:{cid}:done"] = None
        run(at)
        assert scene.written() == before
    return out


def _share_from_page(at: AppTest, scene: Scene, rec: CuratedListRecord, uid: str) -> bool:
    """Share the list through the dialog (forced open, on that list, when not offered)."""
    cid = scene.cid
    count = len(scene.store.shares.shares_for_client(cid))
    open_here = at.session_state[state.DRAFT_LIST] == rec.list_id
    if open_here and has_button(at, f"cur:{cid}:share"):
        click(at, f"cur:{cid}:share")
    else:  # not offered: force the list id and the dialog open, and try anyway
        at.session_state[state.DRAFT_LIST] = rec.list_id
        at.session_state[f"share:{cid}:open"] = True
        run(at)
    if not has_button(at, f"share:{cid}:go"):
        return False
    click(at, f"share:{cid}:go")
    shares = scene.store.shares.shares_for_client(cid)
    worked = len(shares) == count + 1 and shares[0].author_id == uid
    if not worked:
        assert "You may not" in texts(at)
    return worked and shares[0].list_id == rec.list_id


def _lists_list(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    """The Lists page: is the list there, can it be duplicated, archived?"""
    rec = scene.new_list(role, scope)
    before = scene.written()
    at = open_app(user_id=uid, page="lists")
    if not page_allows(role, "lists"):
        refused_page(at, scene, role, "lists")
        assert scene.written() == before
        return dict.fromkeys(actions_in("lists", scope), False)
    at.radio(key="lists:whose").set_value("My store's")
    at.multiselect(key="lists:status").set_value(["draft", "shared", "archived"])
    run(at)
    lid = rec.list_id
    out: Outcomes = {}
    out["view_list"] = has_button(at, f"lists:open:{lid}") and rec.title in texts(at)
    if not out["view_list"]:
        text = texts(at)
        assert rec.title not in text and SECRET not in text
        mine = [r for r in scene.store.lists.lists_for_client(scene.cid, include_archived=True)
                if r.author_id == uid]  # fmt: skip
        if not mine:  # other stores see nothing, not even the client's name
            assert scene.name not in text

    out["duplicate_list"] = False
    if has_button(at, f"lists:dup_go:{lid}"):
        at.text_input(key=f"lists:dup_q:{lid}").input(scene.cid)
        run(at)
        at.selectbox(key=f"lists:dup_to:{lid}").set_value(scene.cid)
        ids = {r.list_id for r in scene.store.lists.lists_for_client(scene.cid)}
        click(at, f"lists:dup_go:{lid}")
        made = [r for r in scene.store.lists.lists_for_client(scene.cid) if r.list_id not in ids]
        out["duplicate_list"] = len(made) == 1 and made[0].author_id == uid
    if not out["duplicate_list"]:
        assert scene.written() == before

    before = scene.written()
    out["edit_list"] = False
    if has_button(at, f"lists:arch_go:{lid}"):
        click(at, f"lists:arch_go:{lid}")
        out["edit_list"] = scene.store.lists.get_list(lid).status == "archived"
    if not out["edit_list"]:
        assert scene.written() == before
    return out


def _lists_search(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    """The duplicate panel's client search: by phone and email only where contact is seen."""
    if not page_allows(role, "lists"):
        at = open_app(user_id=uid, page="lists")
        refused_page(at, scene, role, "lists")
        return {"search_contact": False}
    own = scene.own_list_of(uid, role)
    at = open_app(user_id=uid, page="lists")
    found = []
    for kind in ("phone", "email"):
        at.text_input(key=f"lists:dup_q:{own.list_id}").input(str(scene.client[kind]))
        run(at)
        options = at.selectbox(key=f"lists:dup_to:{own.list_id}").options
        found.append(any(f"({scene.cid})" in str(o) for o in options))
    assert found[0] == found[1], found
    return {"search_contact": found[0]}


def _client(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    out = _client_list(open_app, scene, role, scope, uid)
    if scope in CLIENT_SCOPES:
        out.update(_client_scope(open_app, scene, role, scope, uid))
    return out


def _lists(open_app, scene: Scene, role: str, scope: str, uid: str) -> Outcomes:
    out = _lists_list(open_app, scene, role, scope, uid)
    if scope in CLIENT_SCOPES:
        out.update(_lists_search(open_app, scene, role, scope, uid))
    return out


SESSIONS: dict[str, Callable[..., Outcomes]] = {
    "lookup": _lookup,
    "client": _client,
    "lists": _lists,
}


# ------------------------------------------------------------------ the cells
def test_every_page_cell_is_grouped():
    assert {(r, p, a, s) for r, p, s in GROUPS for a in actions_in(p, s)} == set(PAGE_CELLS)
    assert len(PAGE_CELLS) == 4 * (2 * 3 + (4 * 3 + 3 * 4) + (3 * 4 + 3))


# (Not "page": pytest-playwright would take a parameter of that name for its browser page.)
@pytest.mark.parametrize(("role", "page_key", "scope"), GROUPS, ids=["-".join(g) for g in GROUPS])
def test_page_cells(open_app, scene, as_role, role, page_key, scope):
    as_role(role)
    uid = scene.users[(role, scope)]
    outcomes = SESSIONS[page_key](open_app, scene, role, scope, uid)
    assert set(outcomes) == actions_in(page_key, scope)
    expected = {a: page_allows(role, page_key) and allows(role, a, scope) for a in outcomes}
    assert outcomes == expected, f"{role} on {page_key} in {scope}"
