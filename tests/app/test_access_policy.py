"""The access policy, cell by cell, through the services.

Every cell of :data:`core.app.access.POLICY` (role x action x scope) is tried
through :class:`~core.app.curation.CurationService`, the client search and the
contact masking, on the session's generated maison with a database of its own
per role. An allowed cell must work; a denied one must raise
:class:`~core.exceptions.AccessDeniedError` naming no client or list data, and
write nothing. The page-level twin is ``tests/dashboard/test_access_pages.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from argon2 import PasswordHasher

from core.app import bootstrap
from core.app.access import (
    ACTIONS,
    CLIENT_SCOPES,
    LIST_SCOPES,
    PAGE_ACTIONS,
    PAGE_ROLES,
    POLICY,
    SCOPES,
    allowed_mask,
    allows,
    client_scope,
    client_scopes,
    contact_for,
    list_scope,
    require,
)
from core.app.curation import CurationService
from core.app.search import ClientIndex, search_clients
from core.data.schema import ROLES
from core.exceptions import AccessDeniedError, PermissionDenied
from core.settings import Settings
from core.store import CURATOR_ROLES, SYSTEM_ACTOR, NewItem, Store
from core.store.records import CuratedListRecord
from core.suggest.request import SuggestRequest

pytestmark = pytest.mark.security

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET_TITLE = "Secret title of the list"
SECRET_NOTE = "Secret internal note"


def scopes_of(action: str) -> tuple[str, ...]:
    return LIST_SCOPES if ACTIONS[action].target == "list" else CLIENT_SCOPES


#: Every cell of the declaration: (role, action, scope).
CELLS: list[tuple[str, str, str]] = [
    (role, action, scope) for role in ROLES for action in ACTIONS for scope in scopes_of(action)
]


# ------------------------------------------------------------------ the declaration itself
def test_every_role_and_action_is_declared():
    assert set(POLICY) == set(ROLES)
    for role in ROLES:
        assert set(POLICY[role]) == set(ACTIONS)
        for action, scopes in POLICY[role].items():
            assert scopes <= set(scopes_of(action)), (role, action)
    assert set(SCOPES) == set(LIST_SCOPES)
    for page, actions in PAGE_ACTIONS.items():
        assert page in PAGE_ROLES and set(actions) <= set(ACTIONS)
    assert len(CELLS) == 4 * (5 * 3 + 4 * 4)


def test_the_rule_in_the_readme():
    """ "Who may see and do what", as the README words it."""
    for role in ("associate", "stylist"):
        assert POLICY[role]["open_client"] == set(CLIENT_SCOPES)  # a client travels
        assert POLICY[role]["see_contact"] == {"own_client", "own_store"}
        for action in ("view_list", "edit_list", "share_list", "duplicate_list"):
            assert POLICY[role][action] == {"own_list", "own_client", "own_store"}
        assert POLICY[role]["create_list"] == set(CLIENT_SCOPES)
    assert not any(POLICY["manager"].values())  # aggregates only
    admin = {a for a, scopes in POLICY["admin"].items() if scopes}
    assert admin == {"open_client", "view_list"}  # read-only support, never contact
    assert POLICY["admin"]["view_list"] == set(LIST_SCOPES)


@pytest.mark.parametrize("role", ROLES)
def test_contact_is_searched_only_where_it_is_seen(role):
    assert POLICY[role]["search_contact"] <= POLICY[role]["see_contact"]


def test_the_store_gate_and_the_pages_agree_with_the_policy():
    editors = {r for r in ROLES if POLICY[r]["edit_list"]}
    assert set(CURATOR_ROLES) == editors == {r for r in ROLES if POLICY[r]["record_consent"]}
    for page in ("lookup", "client"):
        assert set(PAGE_ROLES[page]) == {r for r in ROLES if POLICY[r]["open_client"]}
    assert set(PAGE_ROLES["lists"]) <= {r for r in ROLES if POLICY[r]["view_list"]}


@dataclass(frozen=True)
class Who:
    user_id: str
    role: str
    store_id: str | None


ROW = pd.Series({"client_id": "c1", "home_store_id": "par", "assigned_associate_id": "u1"})


@pytest.mark.parametrize(
    ("who", "scope"),
    [
        (Who("u1", "associate", "lon"), "own_client"),  # assigned wins over the store
        (Who("u1", "associate", "par"), "own_client"),
        (Who("u2", "stylist", "par"), "own_store"),
        (Who("u3", "associate", "lon"), "other_store"),
        (Who("u4", "admin", None), "other_store"),
        (Who("u5", "associate", ""), "other_store"),  # an empty store is no store
    ],
)
def test_client_scope(who, scope):
    assert client_scope(who, ROW) == scope
    assert list_scope(who, "someone", ROW) == scope
    assert list_scope(who, who.user_id, ROW) == "own_list"
    assert client_scope(who, None) == "other_store"  # a client no longer in the data
    many = client_scopes(who, np.array(["par", None, "lon"], dtype=object),
                         np.array(["u1", "u1", None], dtype=object))  # fmt: skip
    assert many[0] == scope
    assert many[2] == ("own_store" if who.store_id == "lon" else "other_store")


def test_require_refuses_naming_no_data():
    with pytest.raises(AccessDeniedError, match="another store") as err:
        require(Who("u3", "associate", "lon"), "edit_list", ROW, author_id="u9")
    assert (err.value.role, err.value.action, err.value.scope) == (
        "associate", "edit_list", "other_store"
    )  # fmt: skip
    assert isinstance(err.value, PermissionDenied)
    with pytest.raises(AccessDeniedError, match="aggregates only"):
        require(Who("m", "manager", "par"), "open_client", ROW)
    with pytest.raises(AccessDeniedError, match="Sign in"):
        require(None, "open_client", ROW)
    with pytest.raises(KeyError, match="unknown action"):
        allows("associate", "peek", "own_store")
    with pytest.raises(ValueError, match="scopes"):
        allows("associate", "open_client", "own_list")
    assert not allows(None, "open_client", "own_store")
    assert not allows("intruder", "open_client", "own_store")


# ------------------------------------------------------------------ the world of each role
@dataclass
class World:
    """One role's database over the session's maison: users placed in every scope."""

    role: str
    svc: CurationService
    store: Store
    index: ClientIndex
    client: pd.Series  # the client every cell is about
    users: dict[str, str]  # scope -> the user acting in that scope
    colleague: str  # an associate of the client's store: writes the lists of client scopes
    products: list[str]

    @property
    def cid(self) -> str:
        return str(self.client["client_id"])

    def new_list(self, scope: str) -> CuratedListRecord:
        """A fresh list in ``scope`` for the acting user of that scope (with a share)."""
        author = self.users["own_list"] if scope == "own_list" else self.colleague
        users = self.store.users
        if scope == "own_list":  # written while a curator (a manager now may have been one)
            users.set_role(author, "associate", actor_id=SYSTEM_ACTOR)
        rec = self.store.lists.create_list(
            self.cid, author, SECRET_TITLE, note=SECRET_NOTE,
            items=[NewItem(p, source="manual") for p in self.products[:3]],
        )  # fmt: skip
        self.store.shares.record_share(
            rec.list_id, "pdf", {"message": SECRET_NOTE}, author, consent_contact=True
        )
        if scope == "own_list":
            users.set_role(author, self.role, actor_id=SYSTEM_ACTOR)
        return self.store.lists.get_list(rec.list_id)

    def written(self) -> tuple[object, ...]:
        """Everything a cell could write (lists with items, shares, consent, removals)."""
        lists = [dataclasses.astuple(r) for r in self.store.lists.all_lists()]
        return (
            lists,
            [s.id for s in self.store.shares.all_shares()],
            self.store.consent.consent_history(self.cid),
            self.store.lists.all_removals(),
        )


@pytest.fixture(scope="module")
def engine_parts(atelier_env):
    settings = Settings(data_dir=atelier_env.data_dir)
    dataset = bootstrap.load_data(settings)
    return dataset, bootstrap.load_or_fit_model(dataset, settings)


def _the_client(dataset) -> pd.Series:
    c = dataset.clients
    ok = (
        c["email"].fillna("").str.contains("@")
        & (c["phone"].fillna("").str.len() > 6)
        & c["assigned_associate_id"].notna()
        & c["consent_contact"].astype(bool)
        & c["consent_personalization"].astype(bool)
        & ~c["client_id"].str.match(r"^(t_|h_)")
    )
    return c[ok].iloc[0]


@pytest.fixture(scope="module")
def worlds(engine_parts) -> Iterator[Callable[[str], World]]:
    dataset, model = engine_parts
    index = ClientIndex(dataset.clients)
    client = _the_client(dataset)
    home = str(client["home_store_id"])
    away = next(s for s in dataset.stores["store_id"].astype(str) if s != home)
    products = [str(p) for p in dataset.products["product_id"]]
    built: dict[str, World] = {}
    stores: list[Store] = []

    def world(role: str) -> World:
        if role in built:
            return built[role]
        store = Store.open(url="sqlite://", hasher=FAST_HASHER)
        stores.append(store)
        make = store.users.create_user
        assigned = str(client["assigned_associate_id"])
        # Assigned, but in another store: the "own client" rule alone lets them in.
        make(assigned, "Assigned Probe", role, away, actor_id=SYSTEM_ACTOR)
        make("p_store", "Store Probe", role, home, actor_id=SYSTEM_ACTOR)
        make("p_other", "Other Probe", role, away, actor_id=SYSTEM_ACTOR)
        make("p_own", "Author Probe", role, away, actor_id=SYSTEM_ACTOR)
        make("colleague", "Colleague", "associate", home, actor_id=SYSTEM_ACTOR)
        users = {"own_client": assigned, "own_store": "p_store", "other_store": "p_other",
                 "own_list": "p_own"}  # fmt: skip
        svc = CurationService(dataset, model, store)
        built[role] = World(role, svc, store, index, client, users, "colleague", products)
        return built[role]

    yield world
    for store in stores:
        store.close()


# ------------------------------------------------------------------ one attempt per action
# Each returns True when the action worked (and checks what it did), False when it was
# refused without an error (contact masked, search silent), or raises AccessDeniedError.
Attempt = Callable[[World, str, CuratedListRecord | None], bool]


def _open_client(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    row = w.svc.open_client(w.cid, uid)
    assert row["client_id"] == w.cid
    return True


def _see_contact(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    shown = contact_for(w.svc.guard.user(uid), w.client)
    real = {k: str(w.client[k]) for k in ("email", "phone")}
    if shown == real:
        return True
    assert all(real[k] not in shown[k] for k in real), shown  # masked, not a character
    return False


def _search_contact(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    viewer = w.svc.guard.user(uid)
    found = []
    for kind in ("phone", "email"):
        query = str(w.client[kind])
        hits = w.index.search(query, viewer=viewer)
        found.append(w.cid in set(hits["client_id"]))
        one_shot = search_clients(w.svc.dataset.clients, query, viewer=viewer)
        assert (w.cid in set(one_shot["client_id"])) == found[-1]
    assert found[0] == found[1], found
    return found[0]


def _record_consent(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    change = w.svc.record_consent(w.cid, "consent_contact", uid, "signed in store")
    assert change.changed_by == uid
    return True


def _create_list(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    made = w.svc.create_list(w.cid, uid, [NewItem(w.products[0])])
    assert made.author_id == uid and made.client_id == w.cid
    return True


def _view_list(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    assert rec is not None
    share = w.store.shares.shares_for_client(w.cid)[0]
    assert share.list_id == rec.list_id
    listed = rec.list_id in {r.list_id for r in w.svc.visible_lists(uid)}
    opened = w.svc.open_list_for(w.cid, uid)
    try:
        got = w.svc.get_list(rec.list_id, uid)
    except AccessDeniedError:
        assert not listed and (opened is None or opened.list_id != rec.list_id)
        assert not w.svc.may(uid, "view_list", record=rec)
        with pytest.raises(AccessDeniedError):
            w.svc.share_record(share.id, uid)
        raise
    assert got.title == SECRET_TITLE and listed
    assert w.svc.share_record(share.id, uid).list_id == rec.list_id
    frame = w.svc.lists_frame([got])
    assert "view_list" in w.svc.list_actions(uid, frame)[rec.list_id]
    return True


def _edit_list(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    assert rec is not None
    extra = w.products[5]
    edits: list[Callable[[CuratedListRecord], CuratedListRecord]] = [
        lambda r: w.svc.set_pinned(r, r.product_ids[0], True, uid),
        lambda r: w.svc.set_note(r, r.product_ids[0], "item note", uid),
        lambda r: w.svc.set_note(r, None, "list note", uid),
        lambda r: w.svc.set_title(r, "Renamed", uid),
        lambda r: w.svc.add_product(r, extra, uid),
        lambda r: w.svc.move(r, r.product_ids[0], 1, uid),
        lambda r: w.svc.remove(r, r.product_ids[-1], "Not her style", uid),
        lambda r: w.svc.regenerate(r, uid, SuggestRequest(k=4), personalised=True),
        lambda r: w.svc.archive(r, uid),
    ]
    refused: list[AccessDeniedError] = []
    for edit in edits:
        try:
            rec = edit(rec)
        except AccessDeniedError as err:
            refused.append(err)
    if refused:
        assert len(refused) == len(edits), "every edit is refused, or none"
        # A record edited on the way (claiming the user wrote it) is judged as stored.
        forged = dataclasses.replace(rec, author_id=uid)
        with pytest.raises(AccessDeniedError):
            w.svc.set_note(forged, None, "forged", uid)
        raise refused[0]
    assert rec.status == "archived" and rec.title == "Renamed"
    return True


def _share_list(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    assert rec is not None
    before = len(w.store.shares.shares_for_client(w.cid))
    book = w.svc.lookbook(rec, "Probe", personalised=True)
    outcome = w.svc.share(rec, book, "pdf", uid)
    assert outcome.share.author_id == uid
    assert len(w.store.shares.shares_for_client(w.cid)) == before + 1
    return True


def _duplicate_list(w: World, uid: str, rec: CuratedListRecord | None) -> bool:
    assert rec is not None
    result = w.svc.duplicate(rec.list_id, w.cid, uid)
    assert result.record.author_id == uid and result.record.note == ""  # notes not copied
    return True


ATTEMPTS: dict[str, Attempt] = {
    "open_client": _open_client,
    "see_contact": _see_contact,
    "search_contact": _search_contact,
    "record_consent": _record_consent,
    "create_list": _create_list,
    "view_list": _view_list,
    "edit_list": _edit_list,
    "share_list": _share_list,
    "duplicate_list": _duplicate_list,
}


def test_every_action_is_attempted():
    assert set(ATTEMPTS) == set(ACTIONS)


@pytest.mark.parametrize(("role", "action", "scope"), CELLS, ids=["-".join(c) for c in CELLS])
def test_cell_through_the_services(worlds, role, action, scope):
    w = worlds(role)
    uid = w.users[scope]
    expected = allows(role, action, scope)
    rec = w.new_list(scope) if ACTIONS[action].target == "list" else None
    before = w.written()
    try:
        worked = ATTEMPTS[action](w, uid, rec)
    except AccessDeniedError as err:
        text = str(err)
        assert text.startswith("You may not"), text
        for secret in (SECRET_TITLE, SECRET_NOTE, str(w.client["first_name"]),
                       str(w.client["last_name"]), str(w.client["email"])):  # fmt: skip
            assert secret not in text, text
        worked = False
    assert worked is expected, f"{role} {action} {scope}: the policy says {expected}"
    if not expected:
        assert w.written() == before, "a refused action wrote something"


# ------------------------------------------------------------------ the attack, as reported
def test_reverse_lookup_by_full_phone_is_refused(engine_parts):
    """An associate of another store types a client's full phone: nobody comes back."""
    dataset, _ = engine_parts
    client = _the_client(dataset)
    home = str(client["home_store_id"])
    away = next(s for s in dataset.stores["store_id"].astype(str) if s != home)
    index = ClientIndex(dataset.clients)
    phone, email = str(client["phone"]), str(client["email"])
    stranger = Who("someone-else", "associate", away)
    colleague = Who("someone-else", "associate", home)
    for query in (phone, phone.replace(" ", ""), phone[-8:], email):
        assert client["client_id"] not in set(index.search(query, viewer=stranger)["client_id"])
    for query in (phone, phone[-8:], email, email.split("@")[0]):
        # However low the bar, contact data never matches; only words of the name may
        # ("wing.chen" finds Wing Chen by name, as typing her name would).
        loose = index.search(query, viewer=stranger, min_score=0.1, limit=None)
        theirs = loose[loose["client_id"] == client["client_id"]]
        assert not theirs["matched_on"].isin(["email", "phone"]).any(), query
    assert index.search(phone, viewer=colleague).iloc[0]["client_id"] == client["client_id"]
    name = f"{client['first_name']} {client['last_name']}"
    assert client["client_id"] in set(index.search(name, viewer=stranger)["client_id"])


def test_contact_mask_matches_the_scalar_rule(engine_parts):
    dataset, _ = engine_parts
    clients = dataset.clients
    for who in (Who("u0001", "associate", "par"), Who("x", "stylist", "lon"),
                Who("m", "manager", "par"), Who("a", "admin", None)):  # fmt: skip
        mask = allowed_mask(
            who, "search_contact", clients["home_store_id"].to_numpy(),
            clients["assigned_associate_id"].to_numpy(),
        )  # fmt: skip
        scalar = [
            allows(who.role, "search_contact", client_scope(who, row))
            for _, row in clients.iterrows()
        ]
        assert mask.tolist() == scalar


def test_an_inactive_or_unknown_user_may_do_nothing(worlds):
    w = worlds("associate")
    uid = w.users["own_store"]
    assert w.svc.open_client(w.cid, uid)["client_id"] == w.cid
    w.store.users.deactivate(uid, actor_id=SYSTEM_ACTOR)
    try:
        with pytest.raises(AccessDeniedError, match="not active"):
            w.svc.open_client(w.cid, uid)
        with pytest.raises(AccessDeniedError, match="not active"):
            w.svc.visible_lists(uid)
    finally:
        w.store.users.activate(uid, actor_id=SYSTEM_ACTOR)
    with pytest.raises(AccessDeniedError, match="not active"):
        w.svc.create_list(w.cid, "nobody-at-all", [NewItem(w.products[0])])


def test_admins_no_longer_write_lists_or_consent_in_the_store():
    store = Store.open(url="sqlite://", hasher=FAST_HASHER)
    try:
        store.users.create_user("ada", "Ada Admin", "admin", actor_id=SYSTEM_ACTOR)
        with pytest.raises(PermissionDenied, match="only associate or stylist"):
            store.lists.create_list("C1", "ada", "t")
        with pytest.raises(PermissionDenied, match="only associate or stylist"):
            store.consent.record_consent_change("C1", "consent_contact", True, "ada")
    finally:
        store.close()
