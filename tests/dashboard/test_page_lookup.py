"""Client lookup page under AppTest: empty state, typos, accents, no result, filters, open."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.security.hostile import unescape_shown as unescape

pytestmark = pytest.mark.usefixtures("atelier_env")


def cards(at: AppTest) -> list[tuple[str, str]]:
    """(client id, label without Markdown escapes) of every result card, in order."""
    out = []
    for button in at.button:
        key = getattr(button, "key", None) or ""
        if key.startswith("lookup_card_"):
            out.append((key.removeprefix("lookup_card_"), unescape(button.label)))
    return out


def search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="lookup_query").input(query)
    at.run()
    assert not at.exception, at.exception
    return at


def test_before_typing_shows_your_clients(open_app, atelier_env):
    at = open_app("associate")
    assert at.title[0].value == "Client lookup"
    assert [s.value for s in at.subheader] == ["Your clients"]
    found = cards(at)
    assert found, "the associate has assigned clients"
    assert "t_isa" in [cid for cid, _ in found]
    assert all("your client" in label for _, label in found)


@pytest.mark.parametrize(
    ("query", "client_id", "name"),
    [
        ("Isabele Quatremain", "t_isa", "Isabelle Quatremain"),  # typo
        ("isabelle quatremian", "t_isa", "Isabelle Quatremain"),  # transposition
        ("Zoe Vandermeer", "t_zoe", "Zoé Vandermeer"),  # accent missing
        ("francois delaunay", "t_fra", "François Delaunay-Roche"),  # accent + partial
        ("isabelle.q@example.com", "t_isa", "Isabelle Quatremain"),  # email
        ("06 11 22 33 44", "t_isa", "Isabelle Quatremain"),  # phone, national format
        ("T_ISA", "t_isa", "Isabelle Quatremain"),  # id, any case
    ],
)
def test_search_finds_client_first(open_app, query, client_id, name):
    at = search(open_app("associate"), query)
    found = cards(at)
    assert found[0][0] == client_id
    assert name in found[0][1]


def test_no_result_message(open_app):
    at = search(open_app("associate"), "qqxzzy")
    assert cards(at) == []
    assert [unescape(e.value) for e in at.info] == [
        "No client matches 'qqxzzy'. Check spelling or search by email/phone."
    ]


def test_hostile_query_is_shown_as_text(open_app):
    at = search(open_app("associate"), "<b>zzqqx</b> **x**")
    message = at.info[0].value
    assert "\\<b\\>" in message and "\\*\\*" in message  # escaped, not markup


def test_filters_tier_and_assigned(open_app, atelier_env):
    at = open_app("associate")
    at.multiselect(key="lookup:tier").select("vic")
    at.toggle(key="lookup:mine").set_value(True)
    at.run()
    assert not at.exception
    found = cards(at)
    assert ("t_isa" in [c for c, _ in found]) and all("VIC" in label for _, label in found)


def test_own_clients_come_first(open_app):
    at = search(open_app("associate_other"), "Isabelle")
    # Another store's associate still finds the client, but their own clients rank first
    # among equally good matches.
    ids = [c for c, _ in cards(at)]
    assert "t_isa" in ids


def test_tap_card_opens_client_and_audits_once(open_app, atelier_env, app_store):
    user = atelier_env.users["associate"]
    before = len(app_store.audit.query(actor=user.user_id, action="view_client",
                                       target_id="t_zoe", limit=None))  # fmt: skip
    at = search(open_app("associate"), "Zoe Vandermeer")
    at.button(key="lookup_card_t_zoe").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[state.SELECTED_CLIENT] == "t_zoe"
    assert unescape(at.header[0].value) == "Zoé Vandermeer"
    at.run()  # a rerun (any widget interaction) must not audit again
    assert not at.exception
    after = app_store.audit.query(actor=user.user_id, action="view_client",
                                  target_id="t_zoe", limit=None)  # fmt: skip
    assert len(after) == before + 1
    assert after[0].target_type == "client"
