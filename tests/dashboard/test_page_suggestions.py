"""The Client page's suggestions section under AppTest.

Curation (pin, remove with a reason, reorder, add, notes, save, reopen),
regenerate, a conflict with another tablet, the share dialog, consent, gift
ideas, complete the look and "why not?". Every test uses its own generated
client (never the planted ones other test modules rely on).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state

pytestmark = pytest.mark.usefixtures("atelier_env")


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def clients(atelier_env) -> Callable[..., str]:
    """``clients(personal=True, contact=True)`` -> an unused generated client id."""
    from core.app.bootstrap import load_data
    from core.settings import Settings

    frame = load_data(Settings(data_dir=atelier_env.data_dir)).clients
    generated = frame[
        ~frame["client_id"].str.match(r"^(t_|h_)") & frame["last_contacted_at"].isna()
    ]
    used: set[str] = set()

    def pick(*, personal: bool = True, contact: bool = True) -> str:
        rows = generated[
            (generated["consent_personalization"] == personal)
            & (generated["consent_contact"] == contact)
            & ~generated["client_id"].isin(used)
        ]
        # From the end: other modules that use generated clients take the first ones.
        cid = str(rows["client_id"].iloc[-1])
        used.add(cid)
        return cid

    return pick


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def open_client(open_app, client_id: str, role: str = "associate") -> AppTest:
    at = open_app(role, page="client", state={state.SELECTED_CLIENT: client_id})
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text", "code"):  # fmt: skip
        parts += [str(e.value) for e in at.get(kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def shown_ids(at: AppTest, cid: str) -> list[str]:
    prefix = f"cur:{cid}:pin:"
    return [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]


def draft_of(store, cid: str):
    return store.lists.get_draft_for_client(cid)


@pytest.fixture
def user_of(atelier_env) -> Iterator[Callable[[str], str]]:
    yield lambda role: atelier_env.users[role].user_id


# ------------------------------------------------------------------ curation
def test_suggestions_shown_before_anything_is_saved(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    assert len(ids) == 12
    assert "Not saved yet" in texts(at)
    assert draft_of(app_store, cid) is None


def test_pin_saves_a_draft_and_reopening_shows_it(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    first, second = shown_ids(at, cid)[:2]
    click(at, f"cur:{cid}:pin:{second}")
    draft = draft_of(app_store, cid)
    assert draft is not None and draft.pinned_ids == [second]
    assert draft.product_ids[:2] == [first, second]
    assert at.button(key=f"cur:{cid}:pin:{second}").label == "Pinned"

    again = open_client(open_app, cid)  # another session: the client reopened
    assert shown_ids(again, cid) == draft.product_ids
    assert again.button(key=f"cur:{cid}:pin:{second}").label == "Pinned"
    assert "Draft" in texts(again)


def test_remove_with_reason_is_recorded_and_never_comes_back(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    gone = ids[2]
    click(at, f"cur:{cid}:rm:{gone}")  # opens the removal panel of that card
    at.selectbox(key=f"cur:{cid}:why:{gone}").set_value("Price not right")
    at.text_input(key=f"cur:{cid}:why_text:{gone}").input("prefers <b>under</b> 500 €")
    click(at, f"cur:{cid}:rm_go:{gone}")
    assert gone not in shown_ids(at, cid)
    assert "will not be suggested to this client again" in texts(at)
    removals = app_store.lists.removals_for_client(cid)
    assert [(r.product_id, r.reason) for r in removals] == [
        (gone, "Price not right: prefers <b>under</b> 500 €")
    ]
    assert removals[0].category is None

    click(at, f"cur:{cid}:regen")
    assert gone not in shown_ids(at, cid)
    assert gone not in draft_of(app_store, cid).product_ids


def test_remove_whole_category(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    gone = shown_ids(at, cid)[0]
    click(at, f"cur:{cid}:rm:{gone}")
    at.checkbox(key=f"cur:{cid}:why_cat:{gone}").check()
    click(at, f"cur:{cid}:rm_go:{gone}")
    (removal,) = app_store.lists.removals_for_client(cid)
    assert removal.category
    assert removal.category in app_store.lists.removed_categories(cid)


def test_reorder_with_up_and_down(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    a, b, c, d = shown_ids(at, cid)[:4]
    click(at, f"cur:{cid}:more:{a}")  # moving is under "More…"
    assert at.button(key=f"cur:{cid}:up:{a}").disabled  # the first cannot go up
    click(at, f"cur:{cid}:down:{a}")
    assert shown_ids(at, cid)[:4] == [b, a, c, d]
    click(at, f"cur:{cid}:down:{a}")  # the panel stays open: tap again to move further
    assert shown_ids(at, cid)[:4] == [b, c, a, d]
    click(at, f"cur:{cid}:more:{d}")  # one card's panel at a time
    assert f"cur:{cid}:up:{a}" not in {b.key for b in at.button}
    click(at, f"cur:{cid}:up:{d}")
    assert shown_ids(at, cid)[:4] == [b, c, d, a]
    assert draft_of(app_store, cid).product_ids[:4] == [b, c, d, a]


def test_add_any_catalogue_product(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    click(at, f"cur:{cid}:add_open")
    options = at.selectbox(key=f"cur:{cid}:add_pick").options
    assert options  # labels; pick a product that is not shown
    from core.app.bootstrap import load_data
    from core.settings import Settings

    catalogue = list(load_data(Settings()).products["product_id"])
    extra = next(p for p in catalogue if p not in ids)
    at.selectbox(key=f"cur:{cid}:add_pick").set_value(extra)
    click(at, f"cur:{cid}:add_go")
    assert shown_ids(at, cid)[-1] == extra
    item = draft_of(app_store, cid).item(extra)
    assert item is not None and item.source == "manual"


def test_item_and_list_notes(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    pid = shown_ids(at, cid)[0]
    click(at, f"cur:{cid}:more:{pid}")
    at.text_area(key=f"cur:{cid}:note:{pid}").input("Size 38; call before Friday")
    click(at, f"cur:{cid}:note_go:{pid}")
    click(at, f"cur:{cid}:list_note_open")
    at.text_area(key=f"cur:{cid}:note:list").input("For the gala in March")
    click(at, f"cur:{cid}:note_go:list")
    draft = draft_of(app_store, cid)
    assert draft.item(pid).note == "Size 38; call before Friday"
    assert draft.note == "For the gala in March"
    assert "Size 38; call before Friday" in texts(at)


def test_save_draft_button(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    click(at, f"cur:{cid}:save")
    assert draft_of(app_store, cid).product_ids == ids
    assert "Saved as a draft" in texts(at)


def test_regenerate_keeps_pinned_and_added_items(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    click(at, f"cur:{cid}:pin:{ids[3]}")
    at.select_slider(key=f"sugg:{cid}:k").set_value(6)
    at = run(at)
    assert "Settings changed" in texts(at)
    click(at, f"cur:{cid}:regen")
    after = shown_ids(at, cid)
    assert ids[3] in after
    assert len(after) == 6
    assert draft_of(app_store, cid).pinned_ids == [ids[3]]


def test_conflict_with_another_tablet_then_reload(open_app, clients, app_store, user_of):
    cid = clients()
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    click(at, f"cur:{cid}:pin:{ids[0]}")
    draft = draft_of(app_store, cid)
    # Another tablet (a stylist) changes the list between two taps.
    other = app_store.lists.set_list_note(
        draft.list_id, "changed elsewhere", expected_version=draft.version,
        actor_id=user_of("stylist"),
    )  # fmt: skip
    click(at, f"cur:{cid}:pin:{ids[1]}")
    text = texts(at)
    assert "This list was changed by" in text and other.updated_by_name in text
    assert "reload" in text.lower()
    assert draft_of(app_store, cid).pinned_ids == [ids[0]]  # nothing written
    assert draft_of(app_store, cid).version == other.version
    click(at, f"cur:{cid}:reload")
    assert "This list was changed by" not in texts(at)
    click(at, f"cur:{cid}:pin:{ids[1]}")
    assert draft_of(app_store, cid).pinned_ids == [ids[0], ids[1]]


@pytest.mark.security
def test_conflict_keeps_the_typed_list_note_and_title(open_app, clients, app_store, user_of):
    cid = clients()
    at = open_client(open_app, cid)
    click(at, f"cur:{cid}:pin:{shown_ids(at, cid)[0]}")
    draft = draft_of(app_store, cid)
    click(at, f"cur:{cid}:list_note_open")
    at.text_input(key=f"cur:{cid}:title").input("Gala <b>edit</b>")
    at.text_area(key=f"cur:{cid}:note:list").input("She wants it before **March**")
    # Another tablet changes the note between opening the box and saving it.
    app_store.lists.set_list_note(
        draft.list_id, "Theirs: call Tuesday", expected_version=draft.version,
        actor_id=user_of("stylist"),
    )  # fmt: skip
    click(at, f"cur:{cid}:note_go:list")
    text = texts(at)
    assert "This list was changed by" in text and "the text you typed is kept" in text
    saved = draft_of(app_store, cid)
    assert (saved.note, saved.title) == ("Theirs: call Tuesday", draft.title)  # nothing written

    click(at, f"cur:{cid}:reload")
    # The box shows the saved note; the typed texts are beside it, to apply again.
    assert at.text_area(key=f"cur:{cid}:note:list").value == "Theirs: call Tuesday"
    assert at.text_input(key=f"cur:{cid}:title").value == draft.title
    kept = [t.value for t in at.text]
    assert "She wants it before **March**" in kept and "Gala <b>edit</b>" in kept
    click(at, f"cur:{cid}:kept_use:note:list")
    click(at, f"cur:{cid}:kept_use:title")
    assert at.text_area(key=f"cur:{cid}:note:list").value == "She wants it before **March**"
    assert at.text_input(key=f"cur:{cid}:title").value == "Gala <b>edit</b>"
    click(at, f"cur:{cid}:note_go:list")
    saved = draft_of(app_store, cid)
    assert (saved.note, saved.title) == ("She wants it before **March**", "Gala <b>edit</b>")
    assert not [b for b in at.button if b.key and ":kept_use:" in b.key]


def lose_a_note(at: AppTest, store, cid: str, pid: str, typed: str, theirs: str, other: str):
    """Type a note for ``pid`` while another tablet saves ``theirs`` first; then save (refused)."""
    draft = draft_of(store, cid)
    click(at, f"cur:{cid}:more:{pid}")
    at.text_area(key=f"cur:{cid}:note:{pid}").input(typed)
    store.lists.set_item_note(
        draft.list_id, pid, theirs, expected_version=draft.version, actor_id=other
    )
    return click(at, f"cur:{cid}:note_go:{pid}")


@pytest.mark.security
def test_conflict_keeps_the_typed_item_note(open_app, clients, app_store, user_of):
    cid = clients()
    at = open_client(open_app, cid)
    pid = shown_ids(at, cid)[1]
    click(at, f"cur:{cid}:pin:{pid}")
    stylist = user_of("stylist")
    lose_a_note(at, app_store, cid, pid, "Size 38, gift wrap", "Theirs: size 40", stylist)
    assert "the text you typed is kept" in texts(at)
    assert draft_of(app_store, cid).item(pid).note == "Theirs: size 40"

    click(at, f"cur:{cid}:reload")  # reopens that card's note box
    assert at.text_area(key=f"cur:{cid}:note:{pid}").value == "Theirs: size 40"
    assert "Size 38, gift wrap" in [t.value for t in at.text]
    click(at, f"cur:{cid}:kept_use:note:{pid}")
    click(at, f"cur:{cid}:note_go:{pid}")
    assert draft_of(app_store, cid).item(pid).note == "Size 38, gift wrap"

    # "Discard my text" keeps the saved version.
    lose_a_note(at, app_store, cid, pid, "mine, to discard", "Theirs again", stylist)
    click(at, f"cur:{cid}:reload")
    click(at, f"cur:{cid}:kept_drop:note:{pid}")
    assert "mine, to discard" not in [t.value for t in at.text]
    assert at.text_area(key=f"cur:{cid}:note:{pid}").value == "Theirs again"


# ------------------------------------------------------------------ share
def test_share_records_snapshot_audit_and_marks_shared(open_app, clients, app_store):
    cid = clients(personal=True, contact=True)
    at = open_client(open_app, cid)
    ids = shown_ids(at, cid)
    click(at, f"cur:{cid}:pin:{ids[0]}")
    click(at, f"cur:{cid}:more:{ids[0]}")
    at.text_area(key=f"cur:{cid}:note:{ids[0]}").input("INTERNAL do not show")
    click(at, f"cur:{cid}:note_go:{ids[0]}")
    click(at, f"cur:{cid}:share")
    text = texts(at)
    assert "Preview: what the client will see" in text
    assert "INTERNAL do not show" not in "\n".join(m.value for m in at.markdown[-20:])
    at.text_area(key=f"share:{cid}:message").input("Dear friend, <i>see you soon</i> 😀")
    at = run(at)
    click(at, f"share:{cid}:go")
    assert not at.exception
    (share,) = app_store.shares.shares_for_client(cid)
    snapshot = share.snapshot
    assert [i["product_id"] for i in snapshot["items"]][0] == ids[0]
    assert snapshot["message"] == "Dear friend, <i>see you soon</i> 😀"
    dumped = str(snapshot)
    assert "INTERNAL" not in dumped and "score" not in dumped.lower()
    audits = app_store.audit.query(action="share", target_id=cid)
    assert len(audits) == 1 and audits[0].details["share_id"] == share.id
    assert app_store.lists.get_list(share.list_id).status == "shared"
    assert "Shared on" in texts(at)
    assert at.get("download_button"), "the PDF download is offered"
    assert any("see you soon" in c.value for c in at.code)


def test_share_blocked_without_contact_consent(open_app, clients, app_store):
    cid = clients(personal=True, contact=False)
    at = open_client(open_app, cid)
    click(at, f"cur:{cid}:share")
    assert "Sharing is blocked" in texts(at)
    assert not [b for b in at.button if b.key == f"share:{cid}:go"]
    assert app_store.shares.shares_for_client(cid) == []
    click(at, f"share:{cid}:consent_go")
    assert app_store.consent.consent_overrides(cid) == {"consent_contact": True}
    assert app_store.audit.query(action="consent_change", target_id=cid)
    assert [b for b in at.button if b.key == f"share:{cid}:go"]


def test_recent_contact_warning_in_share_dialog(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    click(at, f"cur:{cid}:share")
    click(at, f"share:{cid}:go")
    assert len(app_store.shares.shares_for_client(cid)) == 1
    at = open_client(open_app, cid)
    click(at, f"cur:{cid}:share")
    assert "Contacted today" in texts(at)


# ------------------------------------------------------------------ consent
def test_no_personalisation_consent_banner_and_recording_it(open_app, clients, app_store):
    cid = clients(personal=False, contact=True)
    at = open_client(open_app, cid)
    text = texts(at)
    assert "No personalisation consent" in text
    assert "generic suggestions" in text
    assert re.search(r"New arrival|Bestseller|Popular across the maison", text)
    click(at, f"sugg:{cid}:consent_go")
    assert app_store.consent.consent_overrides(cid) == {"consent_personalization": True}
    (entry,) = app_store.audit.query(action="consent_change", target_id=cid)
    assert entry.details["new_value"] is True
    at = run(at)
    assert "No personalisation consent" not in texts(at)


# ------------------------------------------------------------------ gift, look, why not
def test_gift_ideas_within_budget_can_be_added(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    at.radio(key=f"sugg:{cid}:mode").set_value("Gift ideas")
    at = run(at)
    at.number_input(key=f"sugg:{cid}:g_max").set_value(800.0)
    at = click(at, f"FormSubmitter:sugg:{cid}:gift_form-Find gift ideas")
    prefix = f"cur:{cid}:gift:add:"
    adds = [b.key for b in at.button if b.key and b.key.startswith(prefix) and not b.disabled]
    assert adds, texts(at)
    pid = adds[0][len(prefix) :]
    click(at, adds[0])
    assert draft_of(app_store, cid).item(pid).source == "manual"


def test_complete_the_look_dialog_adds_products(open_app, clients, app_store):
    cid = clients()
    at = open_client(open_app, cid)
    anchor = shown_ids(at, cid)[0]
    click(at, f"cur:{cid}:more:{anchor}")
    click(at, f"cur:{cid}:look_go:{anchor}")
    assert "Pieces to wear with" in texts(at)
    prefix = f"cur:{cid}:look:add:"
    adds = [b.key for b in at.button if b.key and b.key.startswith(prefix) and not b.disabled]
    assert adds
    click(at, adds[0])
    assert adds[0][len(prefix) :] in draft_of(app_store, cid).product_ids
    click(at, f"cur:{cid}:look_done")
    assert "Pieces to wear with" not in texts(at)


def test_similar_pieces_dialog_offers_the_anchors_category_and_adds(
    open_app, clients, app_store, atelier_maison
):
    cid = clients()
    at = open_client(open_app, cid)
    anchor = shown_ids(at, cid)[0]
    click(at, f"cur:{cid}:more:{anchor}")
    click(at, f"cur:{cid}:similar_go:{anchor}")
    assert "Pieces like" in texts(at)
    prefix = f"cur:{cid}:look:add:"
    offered = [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]
    assert offered and anchor not in offered
    from core.data.dataset import load_dataset

    products = load_dataset(atelier_maison).products.set_index("product_id")["category"]
    assert {products[p] for p in offered} == {products[anchor]}
    adds = [p for p in offered if p not in shown_ids(at, cid)]
    click(at, prefix + adds[0])
    assert adds[0] in draft_of(app_store, cid).product_ids
    click(at, f"cur:{cid}:look_done")
    assert "Pieces like" not in texts(at)


def test_a_next_step_reason_names_the_purchase_that_leads_to_the_card(open_app, atelier_maison):
    """The planted next step: six clients went from the entry piece to the signature piece."""
    from core.data.dataset import load_dataset
    from tests.conftest import NEXT_STEP_CLIENT, next_step_pair

    entry, signature = next_step_pair(atelier_maison)
    names = load_dataset(atelier_maison).products.set_index("product_id")["name"]
    at = open_client(open_app, NEXT_STEP_CLIENT)
    assert signature in shown_ids(at, NEXT_STEP_CLIENT)
    assert f"Clients who bought the {names[entry]} often went on to this" in texts(at)


def test_why_not_names_the_rule_or_the_rank(open_app, clients, app_store, user_of):
    cid = clients()
    at = open_client(open_app, cid)
    gone = shown_ids(at, cid)[0]
    click(at, f"cur:{cid}:rm:{gone}")
    click(at, f"cur:{cid}:rm_go:{gone}")
    at.radio(key=f"sugg:{cid}:mode").set_value("Why not…?")
    at = run(at)
    at.selectbox(key=f"sugg:{cid}:why_pick").set_value(gone)
    at = run(at)
    assert "removed_by_associate" in texts(at)


def test_hostile_client_names_do_not_break_the_section(open_app):
    for cid in ("h_script", "h_md", "h_rtl"):
        at = open_client(open_app, cid)
        assert shown_ids(at, cid)
        assert "<script>" not in "".join(m.value for m in at.markdown if "d2-card" in m.value)
