"""The Client page's suggestions section: suggestions, curation, gift ideas, "why not?", share.

Entry point: :func:`render_suggestions_section` (called by the Client page
with a :class:`dashboard.state.ClientPageContext`). The section runs as a
fragment, so a tap on a card reruns only this section, not the whole page.

Without personalisation consent only generic suggestions are shown (new
arrivals and store bestsellers, labelled so) under a banner, with a button
that records the client's consent (audited) and reloads the page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.app.access import can_open_page
from core.app.curation import CurationService
from core.exceptions import AtelierError
from core.suggest.catalogue import Catalogue
from core.suggest.request import SuggestRequest
from core.suggest.rerank.gift import GiftRecipient
from dashboard import resources
from dashboard.sections import curation as cur
from dashboard.sections import tryon
from dashboard.sections.share import open_share_dialog
from dashboard.sections.working_list import (
    items_for_display,
    render_grid,
    render_list_tools,
    render_messages,
)
from dashboard.state import ClientPageContext, page_path
from dashboard.widgets.limited_text import CONSENT_NOTE_CHARS, SIZE_CHARS, limited_text
from dashboard.widgets.list_card import status_line
from dashboard.widgets.product_card import card_html, inject_css
from dashboard.widgets.text import plain, safe

K_CHOICES = (6, 8, 10, 12, 15, 20, 25, 30)
MODES = ("Selection", "Gift ideas", "Why not…?")
SEASON_WORDS = ("spring", "summer", "autumn", "winter")
GIFT_RESULTS = 9
#: The recipient's sizes the gift form asks for (GiftRecipient field, label).
GIFT_SIZES: tuple[tuple[str, str], ...] = (
    ("size_rtw", "Their clothing size"),
    ("size_shoes", "Their shoe size"),
    ("size_ring", "Their ring size"),
)
LOOK_RESULTS = 6


def _k(client_id: str, *parts: object) -> str:
    return ":".join(["sugg", client_id, *(str(p) for p in parts)])


def render_suggestions_section(ctx: ClientPageContext) -> None:
    """Suggestions with reasons, curation and sharing for the client in ``ctx``."""
    st.subheader("Suggestions", anchor=False)
    inject_css()
    _section(ctx)


@st.fragment
def _section(ctx: ClientPageContext) -> None:
    try:
        _render(ctx)
    except AtelierError as err:  # the page frame does this too, but not on fragment reruns
        st.error(safe(str(err), 500))


def _render(ctx: ClientPageContext) -> None:
    svc = resources.get_curation(ctx)
    cid = str(ctx.client_id)
    personalised = svc.personalisation_allowed(cid)
    sec = cur.Section(svc, cid, ctx.user.user_id, str(ctx.user.name), personalised)
    if not personalised:
        _consent_banner(sec, can_open_page(str(ctx.user.role), "tryon"))
    params = _controls(sec)
    mode = st.radio(
        "Show", MODES, horizontal=True, key=_k(cid, "mode"), label_visibility="collapsed"
    )
    if mode == MODES[1]:
        _gift_mode(sec)
    elif mode == MODES[2]:
        _why_not_mode(sec, params)
    else:
        _selection(sec, params)
    look = st.session_state.get(sec.keys.look)
    if isinstance(look, tuple) and look[0] == "similar":
        _similar_dialog(sec, str(look[1]))
    elif isinstance(look, tuple):
        _look_dialog(sec, str(look[1]))
    elif st.session_state.get(sec.keys.share_open):
        open_share_dialog(sec, ctx)


# ------------------------------------------------------------------ consent
def _consent_banner(sec: cur.Section, tryon_ok: bool) -> None:
    cid = sec.client_id
    home = sec.svc.home_store(cid)
    store = sec.svc.store_name(home) if home else "the store"
    with st.container(border=True, key=f"sugg-consent-{cid}".replace(":", "-")):
        st.warning(
            "**No personalisation consent.** These are generic suggestions, not based on this "
            f"client: new arrivals and {safe(store, 80)} bestsellers. Their history is not used.",
        )
        cols = st.columns([3, 2], vertical_alignment="bottom")
        limited_text(
            "How was consent given?",
            value="Given in store",
            key=_k(cid, "consent_note"),
            limit=CONSENT_NOTE_CHARS,
            where=cols[0],
        )
        if cols[1].button(
            "Record consent to personalise",
            key=_k(cid, "consent_go"),
            type="primary",
            width="stretch",
        ):
            note = str(st.session_state.get(_k(cid, "consent_note")) or "Given in store")
            sec.svc.record_consent(cid, "consent_personalization", sec.user_id, note)
            st.session_state[sec.keys.notice] = (
                "Consent recorded: suggestions are now personalised for this client."
            )
            st.rerun(scope="app")
        if tryon_ok and st.button(
            "Or start a try-on session: suggestions from this visit only, nothing stored",
            key=_k(cid, "tryon_go"),
            width="stretch",
        ):
            tryon.start_new()  # a new visit: nothing of this client is carried over
            st.switch_page(page_path("tryon"))


# ------------------------------------------------------------------ controls
def _occasions(svc: CurationService) -> dict[str, str]:
    return {key: spec.label for key, spec in svc.rules.context.occasions.items()}


def _seasons(svc: CurationService) -> list[str]:
    codes = sorted(
        {
            str(c).upper()
            for c in svc.dataset.products["collection"].dropna().unique()
            if len(str(c)) == 4 and str(c)[2:].isdigit()
        },
        key=lambda c: (c[2:], c[:2]),
    )
    return ["auto", *SEASON_WORDS, *codes[-6:]]


def _controls(sec: cur.Section) -> SuggestRequest:
    """How many, occasion, season, categories, price and variety; returns the parameters."""
    cid = sec.client_id
    svc = sec.svc
    occasions = _occasions(svc)
    categories = sorted(Catalogue.of(svc.dataset).category_codes[1])
    with st.expander("Refine: how many, occasion, season, categories, price, variety"):
        row = st.columns(3, gap="medium")
        row[0].select_slider("How many", K_CHOICES, value=12, key=_k(cid, "k"))
        row[1].selectbox(
            "Occasion",
            ["", *occasions],
            key=_k(cid, "occasion"),
            format_func=lambda o: occasions.get(o, "Any occasion"),
        )
        row[2].selectbox(
            "Season",
            ["", *_seasons(svc)],
            key=_k(cid, "season"),
            format_func=lambda s: {"": "Any season", "auto": "This season"}.get(
                s, s.title() if s.islower() else s
            ),
        )
        row = st.columns([3, 1, 1, 2], gap="medium", vertical_alignment="bottom")
        row[0].multiselect(
            "Categories", categories, key=_k(cid, "cats"), placeholder="All categories"
        )
        row[1].number_input(
            "Price from",
            min_value=0.0,
            value=None,
            step=100.0,
            key=_k(cid, "pmin"),
            placeholder="any",
        )
        row[2].number_input(
            "Price up to",
            min_value=0.0,
            value=None,
            step=100.0,
            key=_k(cid, "pmax"),
            placeholder="any",
        )
        row[3].slider(
            "Variety (0: closest matches, 1: most varied)", 0.0, 1.0, 0.3, 0.1, key=_k(cid, "div")
        )
    get = st.session_state.get
    pmin, pmax = get(_k(cid, "pmin")), get(_k(cid, "pmax"))
    if pmin is not None and pmax is not None and pmin > pmax:
        st.warning("“Price from” is above “Price up to”: the two were swapped.")
        pmin, pmax = pmax, pmin
    return SuggestRequest(
        k=int(get(_k(cid, "k")) or 12),
        occasion=get(_k(cid, "occasion")) or None,
        season=get(_k(cid, "season")) or None,
        categories=tuple(get(_k(cid, "cats")) or ()),
        price_min=pmin,
        price_max=pmax,
        diversity=float(get(_k(cid, "div")) or 0.0),
    )


# ------------------------------------------------------------------ selection
def _selection(sec: cur.Section, params: SuggestRequest) -> None:
    keys = sec.keys
    if render_messages(sec):
        return
    rec = cur.resolve_list(sec)
    used_key = keys.k("params_used")
    if rec is None:
        found = sec.svc.suggestions(sec.client_id, params, personalised=sec.personalised)
        items = found.items
        cur.remember_shown(sec, items)
        st.session_state[keys.version] = None
        st.session_state[used_key] = params.as_dict()
        if found.generic:
            st.caption(
                "Generic suggestions (no personalisation): each card says whether it is a new "
                "arrival or a bestseller."
            )
    else:
        st.session_state[keys.version] = rec.version
        items = items_for_display(sec, rec)
        if st.session_state.get(used_key) is None:
            st.session_state[used_key] = params.as_dict()
    # Archived lists are read-only; so is everything the access policy lets the user only view.
    editable = (rec is None or rec.status != "archived") and cur.can_edit(sec, rec)
    changed = st.session_state.get(used_key) != params.as_dict()
    _toolbar(sec, rec, params, changed=changed, editable=editable)
    if editable:
        render_list_tools(sec, rec)
    if items.empty:
        st.info(
            "Nothing to suggest with these settings: widen the price range or the categories, "
            "or add products from the catalogue."
        )
        return
    render_grid(sec, items, editable=editable)


def _toolbar(
    sec: cur.Section, rec: Any, params: SuggestRequest, *, changed: bool, editable: bool = True
) -> None:
    keys = sec.keys
    cols = st.columns([4, 2, 2, 2], vertical_alignment="center", gap="small")
    cols[0].markdown(status_line(rec))
    if not editable and (rec is None or rec.status != "archived"):
        st.info("You can view this selection but not change or share it.")
        return
    if rec is None:
        cols[1].button(
            "Save draft", key=keys.k("save"), width="stretch", on_click=cur.on_save, args=(sec,)
        )
    elif rec.status != "archived":
        cols[1].button(
            "↻ Regenerate",
            key=keys.k("regen"),
            width="stretch",
            type="primary" if changed else "secondary",
            on_click=cur.on_regenerate,
            args=(sec, params),
        )
    if rec is None or rec.status != "archived":
        cols[2].button(
            "Share…",
            key=keys.k("share"),
            width="stretch",
            type="primary",
            on_click=cur.on_open_share,
            args=(sec,),
        )
    if rec is not None:
        cols[3].button(
            "New selection",
            key=keys.k("new"),
            width="stretch",
            on_click=cur.on_new_selection,
            args=(sec,),
        )
    if rec is not None and rec.status == "archived":
        st.info("This list is archived (read-only). Duplicate it from the Lists page to reuse it.")
    elif rec is not None and changed:
        st.info("Settings changed: tap **Regenerate** to refresh the unpinned items with them.")


# ------------------------------------------------------------------ gift ideas
def _gift_mode(sec: cur.Section) -> None:
    cid = sec.client_id
    products = sec.svc.dataset.products
    ctx = Catalogue.of(sec.svc.dataset)
    categories = sorted(ctx.category_codes[1])
    designers = sorted({str(d) for d in products["designer"].dropna() if str(d).strip()})
    colours = sorted({str(c) for c in products["color"].dropna() if str(c).strip()})
    occasions = _occasions(sec.svc)
    with st.form(_k(cid, "gift_form"), border=True):
        st.markdown(
            "**Gift ideas**: describe who the gift is for; the client's own taste is not used."
        )
        row = st.columns(3, gap="medium")
        row[0].multiselect("They like (categories)", categories, key=_k(cid, "g_cats"))
        row[1].multiselect("Designers", designers, key=_k(cid, "g_designers"))
        row[2].multiselect("Colours", colours, key=_k(cid, "g_colours"))
        row = st.columns(3, gap="medium", vertical_alignment="bottom")
        row[0].number_input(
            "Budget from",
            min_value=0.0,
            value=None,
            step=50.0,
            key=_k(cid, "g_min"),
            placeholder="any",
        )
        row[1].number_input(
            "Budget up to",
            min_value=0.0,
            value=None,
            step=50.0,
            key=_k(cid, "g_max"),
            placeholder="any",
        )
        row[2].selectbox(
            "Occasion",
            ["", *occasions],
            key=_k(cid, "g_occasion"),
            format_func=lambda o: occasions.get(o, "Any occasion"),
        )
        row = st.columns(3, gap="medium")
        for col, (field, label) in zip(row, GIFT_SIZES, strict=True):
            limited_text(
                label,
                key=_k(cid, f"g_{field}"),
                limit=SIZE_CHARS,
                where=col,
                placeholder="not known",
            )
        submitted = st.form_submit_button("Find gift ideas", type="primary", width="stretch")
    get = st.session_state.get
    if submitted:
        st.session_state[_k(cid, "gift")] = {
            "categories": tuple(get(_k(cid, "g_cats")) or ()),
            "designers": tuple(get(_k(cid, "g_designers")) or ()),
            "colors": tuple(get(_k(cid, "g_colours")) or ()),
            "budget_min": get(_k(cid, "g_min")),
            "budget_max": get(_k(cid, "g_max")),
            "occasion": get(_k(cid, "g_occasion")) or None,
            **{f: str(get(_k(cid, f"g_{f}")) or "").strip() for f, _ in GIFT_SIZES},
        }
    wanted = st.session_state.get(_k(cid, "gift"))
    render_messages(sec)
    if not wanted:
        return
    lo, hi = wanted["budget_min"], wanted["budget_max"]
    if lo is not None and hi is not None and lo > hi:
        wanted = {**wanted, "budget_min": hi, "budget_max": lo}
    ideas = sec.svc.gift_ideas(cid, GiftRecipient(**wanted), GIFT_RESULTS)
    if ideas.empty:
        st.info("No gift in stock matches: widen the budget or remove a preference.")
        return
    _add_grid(sec, ideas, "gift")


def _add_grid(sec: cur.Section, items: pd.DataFrame, where: str) -> None:
    """Cards with one "Add to the selection" button each."""
    rec = cur.seen_record(sec)
    if rec is not None:
        in_list = set(rec.product_ids)
    else:
        in_list = {pid for pid, _, _ in st.session_state.get(sec.keys.shown) or []}
    rows = items.to_dict("records")
    for start in range(0, len(rows), 3):
        cols = st.columns(3, gap="small")
        for offset, row in enumerate(rows[start : start + 3]):
            pid = str(row["product_id"])
            with cols[offset].container(border=True):
                st.markdown(card_html(row), unsafe_allow_html=True)
                there = pid in in_list
                st.button(
                    "✓ In the selection" if there else "+ Add to the selection",
                    key=sec.keys.k(where, "add", pid),
                    width="stretch",
                    disabled=there,
                    on_click=cur.on_add,
                    args=(sec, pid),
                )


# ------------------------------------------------------------------ why not
def _why_not_mode(sec: cur.Section, params: SuggestRequest) -> None:
    cid = sec.client_id
    svc = sec.svc
    pick = st.selectbox(
        "Why isn't this product suggested?",
        list(svc.dataset.product_ids.external_ids),
        index=None,
        key=_k(cid, "why_pick"),
        format_func=svc.product_label,
        placeholder="Type any product name, designer or category…",
    )
    render_messages(sec)
    if not pick:
        st.caption(
            "Choose any product of the catalogue: you will see the rule that excludes it for "
            "this client, or where it ranks."
        )
        return
    rec = cur.seen_record(sec)
    if rec is not None and pick in rec.product_ids:
        st.success(f"It is already in the selection, at #{rec.product_ids.index(pick) + 1}.")
        return
    text = svc.why_not(cid, pick, params, personalised=sec.personalised)
    st.info(safe(text, 800))
    row = svc.products_frame([pick], cid)
    if not row.empty:
        with st.container(border=True):
            st.markdown(card_html(row.iloc[0]), unsafe_allow_html=True)
    st.button(
        "+ Add it to the selection anyway",
        key=_k(cid, "why_add"),
        on_click=cur.on_add,
        args=(sec, pick),
    )


# ------------------------------------------------------------------ complete the look
def _dismiss_look() -> None:
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith("cur:") and key.endswith(":look"):
            st.session_state[key] = None


def _close_look(sec: cur.Section) -> None:
    st.session_state[sec.keys.look] = None


@st.dialog("Complete the look", width="large", on_dismiss=_dismiss_look)
def _look_dialog(sec: cur.Section, anchor: str) -> None:
    if not st.session_state.get(sec.keys.look):
        st.rerun()
    found = sec.svc.complete_the_look(
        sec.client_id, anchor, LOOK_RESULTS, personalised=sec.personalised
    )
    _anchor_dialog_body(
        sec,
        f"Pieces to wear with **{safe(plain(sec.svc.product_label(anchor), 160), 200)}**:",
        found,
        "No complementary product is available for this client right now.",
    )


@st.dialog("Similar pieces", width="large", on_dismiss=_dismiss_look)
def _similar_dialog(sec: cur.Section, anchor: str) -> None:
    if not st.session_state.get(sec.keys.look):
        st.rerun()
    found = sec.svc.similar(sec.client_id, anchor, LOOK_RESULTS, personalised=sec.personalised)
    _anchor_dialog_body(
        sec,
        f"Pieces like **{safe(plain(sec.svc.product_label(anchor), 160), 200)}**, "
        "in its category, that this client's rules allow (in stock in their size, "
        "nothing removed or already bought):",
        found,
        "No similar piece is available for this client right now.",
    )


def _anchor_dialog_body(sec: cur.Section, intro: str, found: pd.DataFrame, empty: str) -> None:
    """A look or similar-pieces dialog: the intro, the cards to add, and Done."""
    st.markdown(intro)
    render_messages(sec)
    if found.empty:
        st.info(empty)
    else:
        _add_grid(sec, found, "look")
    st.button(
        "Done", key=sec.keys.k("look_done"), width="stretch", on_click=_close_look, args=(sec,)
    )
