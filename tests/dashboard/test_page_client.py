"""Client page under AppTest: header, contact rules, audit, activity, dates, hostile text."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from dashboard.widgets.text import plain
from tests.security.hostile import unescape_shown as unescape

HOSTILE_IDS = ["h_emoji", "h_long", "h_md", "h_rtl", "h_script"]
pytestmark = pytest.mark.usefixtures("atelier_env")


def all_text(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text"):  # fmt: skip
        parts += [str(e.value) for e in at.get(kind)]
    return "\n".join(parts)


def open_client(open_app, role: str, client_id: str, tab: str | None = None) -> AppTest:
    """The Client page of ``client_id``, on its ``tab`` (default: the first, Suggestions)."""
    opened: dict[str, object] = {state.SELECTED_CLIENT: client_id}
    if tab is not None:
        opened[state.client_tab_key(client_id)] = tab
    return open_app(role, page="client", state=opened)


def subheaders(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.subheader]


def test_no_client_selected(open_app):
    at = open_app("associate", page="client")
    assert "No client is open" in at.info[0].value


def test_unknown_client_id(open_app):
    at = open_client(open_app, "associate", "no-such-client")
    assert "There is no client with id" in unescape(at.error[0].value)


def test_header_for_own_associate_shows_contact(open_app):
    at = open_client(open_app, "associate", "t_isa")
    assert unescape(at.header[0].value) == "Isabelle Quatremain"
    text = unescape(all_text(at))
    assert "VIC" in text and "home store" in text and "assigned to" in text
    assert "isabelle.q@example.com" in text and "+33 6 11 22 33 44" in text
    assert "Personalisation: yes" in text and "Contact: yes" in text


@pytest.mark.parametrize("role", ["associate_other"])
def test_contact_hidden_for_other_store(open_app, role):
    at = open_client(open_app, role, "t_isa")
    text = unescape(all_text(at))
    assert unescape(at.header[0].value) == "Isabelle Quatremain"
    assert "isabelle.q@example.com" not in text
    assert "11 22 33 44" not in text
    assert "shown only to the client's home store and assigned associate" in text


def test_manager_cannot_open_client_page(atelier_env, sign_in_for_test):
    at = AppTest.from_file(str(state.DASHBOARD_DIR / "app_pages" / "client.py"))
    sign_in_for_test(at.session_state, atelier_env.users["manager"].user_id)
    at.session_state[state.SELECTED_CLIENT] = "t_isa"
    at.run()
    assert not at.exception
    assert "not available for your role (manager)" in at.error[0].value
    text = unescape(all_text(at))
    assert "Quatremain" not in text and "isabelle.q@example.com" not in text


def test_view_audited_once_per_open(open_app, atelier_env, app_store):
    user = atelier_env.users["stylist"]

    def views() -> int:
        return len(app_store.audit.query(actor=user.user_id, action="view_client",
                                         target_id="t_fra", limit=None))  # fmt: skip

    before = views()
    at = open_client(open_app, "stylist", "t_fra")
    at.run()
    at.run()
    assert not at.exception
    assert views() == before + 1
    # Opening the client again (from lookup) is a new view.
    assert at.session_state[state.VIEWED_CLIENT] == "t_fra"
    at.session_state[state.VIEWED_CLIENT] = None  # what state.open_client does
    at.run()
    assert not at.exception
    assert views() == before + 2
    # Going to another page and back through the menu is a new open too.
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / "account.py")).run()
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / "client.py")).run()
    assert not at.exception
    assert views() == before + 3


def test_activity_and_internal_browsing(open_app):
    at = open_client(open_app, "associate", "t_isa", tab="Activity")
    frames = at.dataframe
    assert len(frames) == 2
    volunteered, browsing = frames[0].value, frames[1].value
    assert list(volunteered["What"]) == ["Purchase"]
    assert list(browsing["What"]) == ["Viewed online"]
    assert list(browsing["Visibility"]) == ["internal"]
    assert any("internal" in e.label.lower() for e in at.expander)


def test_upcoming_birthday_and_preferences(open_app):
    at = open_client(open_app, "associate", "t_isa", tab="Taste & preferences")
    text = unescape(all_text(at))
    assert "Birthday:" in text and "(in 10 days)" in text
    assert "Materials: cashmere" in text
    assert "Ready-to-wear S" in text


def test_taste_profile_chart_drawn(open_app):
    at = open_client(open_app, "associate", "t_isa", tab="Taste & preferences")
    charts = at.get("plotly_chart")
    assert len(charts) == 1


def test_only_the_open_tab_runs(open_app):
    at = open_client(open_app, "associate", "t_isa")
    assert [t.label for t in at.tabs] == list(state.CLIENT_TABS)
    # Suggestions is open: neither the taste chart nor the activity tables were built.
    assert at.session_state[state.client_tab_key("t_isa")] == "Suggestions"
    assert "Recent activity" not in subheaders(at) and "Taste profile" not in subheaders(at)
    assert len(at.dataframe) == 0 and len(at.get("plotly_chart")) == 0
    # Switching to Activity (what a tap on the tab does) runs that tab alone.
    at.session_state[state.client_tab_key("t_isa")] = "Activity"
    at.run()
    assert not at.exception
    assert "Recent activity" in subheaders(at) and "Taste profile" not in subheaders(at)
    assert len(at.dataframe) == 2 and len(at.get("plotly_chart")) == 0
    # Another client opens on Suggestions, whatever tab the last one was on.
    at.session_state[state.SELECTED_CLIENT] = "t_zoe"
    at.run()
    assert not at.exception
    assert at.session_state[state.client_tab_key("t_zoe")] == "Suggestions"
    assert "Recent activity" not in subheaders(at)


def test_recently_contacted_warning(open_app, app_store, atelier_env):
    from core.store import NewItem

    user = atelier_env.users["associate"]
    draft = (
        app_store.lists.create_list(
            "t_zoe", user.user_id, "For Zoé", items=[NewItem("p00001", "test")]
        )
        if _accepts_items(app_store)
        else app_store.lists.create_list("t_zoe", user.user_id, "For Zoé")
    )
    app_store.shares.record_share(draft.list_id, "message", {"items": []}, user.user_id,
                                  consent_contact=True)  # fmt: skip
    at = open_client(open_app, "associate", "t_zoe")
    assert any("Contacted today" in unescape(w.value) for w in at.warning)


def _accepts_items(store) -> bool:
    import inspect

    return "items" in inspect.signature(store.lists.create_list).parameters


@pytest.mark.parametrize("client_id", HOSTILE_IDS)
def test_hostile_names_render_as_text(open_app, atelier_env, client_id):
    first, last = atelier_env.names[client_id]
    at = open_client(open_app, "associate", client_id)
    header = at.header[0].value
    # Every Markdown/HTML special character of the name is backslash-escaped...
    assert not re.search(
        r"(?<!\\)[<>*_\[\]#$`]", header.replace("\u2068", "").replace("\u2069", "")
    )
    # ...and the escapes undo to exactly the (cleaned, truncated) name.
    expected = plain(f"{first} {last}", 120)
    assert unescape(header).strip("\u2068\u2069") == expected
    assert "<script>" not in all_text(at).replace("\\<script\\>", "")


def test_hostile_names_in_lookup_cards(open_app):
    at = open_app("associate")
    at.text_input(key="lookup_query").input("script alert")
    at.run()
    assert not at.exception
    labels = [b.label for b in at.button if (b.key or "").startswith("lookup_card_h_script")]
    assert labels, "the hostile client is found"
    assert "\\<script\\>" in labels[0]
    assert not re.search(r"(?<!\\)<", labels[0])


# ---------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>alert(1)</script>", r"\<script\>alert\(1\)\</script\>"),
        ("**bold** [a](b)", r"\*\*bold\*\* \[a\]\(b\)"),
        (":red[x] $x$", r"\:red\[x\] \$x\$"),
        ("&lt;b&gt;", r"\&lt;b\&gt;"),
        ("Zoé 👑", "Zoé 👑"),
        ("line\nbreak", "line break"),
    ],
)
def test_safe_escapes_markup(raw, escaped):
    from dashboard.widgets.text import safe

    assert safe(raw) == escaped


def test_safe_stops_autolinks():
    from dashboard.widgets.text import safe

    assert safe("see http://evil.example") == "see http\u2060\\://evil\\.example"
    assert safe("a@b.co") == "a\\@\u2060b\\.co"
    assert safe("www.x.com").startswith("www\u2060")


def test_safe_isolates_rtl_and_strips_bidi_overrides():
    from dashboard.widgets.text import safe

    assert safe("مريم") == "\u2068مريم\u2069"
    assert safe("abc\u202edef") == "abcdef"


def test_safe_truncates_and_handles_missing():
    from dashboard.widgets.text import plain, safe, safe_html

    assert safe("x" * 5000, 10) == "xxxxxxxxx…"
    assert plain(None) == "" and plain(float("nan")) == ""
    assert safe_html('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"


def test_chips_and_cards_escape():
    from dashboard.widgets.cards import html_card
    from dashboard.widgets.chips import chip_html
    from dashboard.widgets.swatch import colour_css, swatch_html

    assert chip_html("<b>", "good") == '<span class="atelier-chip good">&lt;b&gt;</span>'
    card = html_card("<i>x</i>", ["a & b"])
    assert "&lt;i&gt;x&lt;/i&gt;" in card and "a &amp; b" in card and "<i>" not in card
    assert colour_css("Black") == "#111111" and colour_css("acid green") == "#B0BF1A"
    assert colour_css("dark green") == "#3E7B4F" and colour_css("??") == "#DDD5C8"
    assert 'title="&lt;x&gt;"' in swatch_html("<x>")
    with pytest.raises(ValueError, match="tone must be"):
        chip_html("x", "loud")  # type: ignore[arg-type]


def test_upcoming_dates():
    import pandas as pd

    from dashboard.sections.profile import upcoming_dates

    as_of = pd.Timestamp("2026-12-20 15:00")
    client = {"birthday": pd.Timestamp("1980-01-05"), "anniversary": pd.Timestamp("2010-12-20")}
    found = upcoming_dates(client, as_of)
    assert [(d.label, d.date, d.days) for d in found] == [
        ("Anniversary", pd.Timestamp("2026-12-20"), 0),
        ("Birthday", pd.Timestamp("2027-01-05"), 16),
    ]
    assert upcoming_dates({"birthday": pd.Timestamp("1980-03-01")}, as_of) == []
    assert upcoming_dates({"birthday": None, "anniversary": pd.NaT}, as_of) == []
    leap = upcoming_dates({"birthday": pd.Timestamp("1992-02-29")}, pd.Timestamp("2027-02-01"))
    assert [(d.date, d.days) for d in leap] == [(pd.Timestamp("2027-02-28"), 27)]


def test_activity_rows_split_volunteered_and_internal():
    import pandas as pd

    from dashboard.sections.profile import activity_rows

    events = pd.DataFrame(
        {
            "client_id": ["c"] * 3,
            "product_id": ["p1", "p2", "p1"],
            "event_type": ["purchase", "zoom", "wishlist"],
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
            "channel": ["store", "online", "app"],
            "store_id": ["par", None, None],
            "is_gift": [True, False, False],
        }
    )
    products = pd.DataFrame({"product_id": ["p1", "p2"], "name": ["Tote", "<b>Ring</b>"],
                             "designer": ["A", "B"]})  # fmt: skip
    own = activity_rows(events, products, {"par": "Paris"}, internal=False)
    assert own.to_dict("list") == {
        "When": ["03 Jan 2026", "01 Jan 2026"],
        "What": ["Wishlist", "Purchase"],
        "Product": ["Tote", "Tote"],
        "Designer": ["A", "A"],
        "Where": ["app", "Paris"],
        "Gift": ["", "gift"],
    }
    internal = activity_rows(events, products, {}, internal=True)
    assert list(internal["What"]) == ["Zoomed in"]
    assert list(internal["Product"]) == ["<b>Ring</b>"]  # a dataframe cell is never markup
    assert list(internal["Visibility"]) == ["internal"]


def test_price_band_and_sizes():
    from dashboard.sections.profile import declared_preferences, price_band, sizes

    assert price_band({"price_min": 500.0, "price_max": 3000.0}) == "EUR 500 – 3,000"
    assert price_band({"price_min": None, "price_max": 900.0}) == "up to EUR 900"
    assert price_band({}) == ""
    assert sizes({"size_rtw": "S", "size_shoes": float("nan"), "size_ring": "52"}) == {
        "Ready-to-wear": "S",
        "Ring": "52",
    }
    prefs = declared_preferences({"pref_colors": "black|camel", "pref_designers": None})
    assert prefs["Colours"] == ["black", "camel"] and prefs["Designers"] == []
