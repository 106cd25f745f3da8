"""Hostile text through the HTML renderers: product cards (reasons, notes), chips, list and cluster cards.

Each card goes to ``st.markdown(..., unsafe_allow_html=True)``. Properties:
Markdown reads the whole card as one raw HTML block (so nothing in it is
Markdown, LaTeX or a link); its tags are the template's own (``div`` and
``span`` with the widget's classes); every attribute value is the template's
or escaped text; and what a reader sees holds each field after the
documented cleaning (:func:`dashboard.widgets.text.plain`).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.widgets.cards import html_card
from dashboard.widgets.chips import chip_html, chips_html
from dashboard.widgets.clusters import cluster_card_html
from dashboard.widgets.list_card import list_card_html
from dashboard.widgets.product_card import card_html
from dashboard.widgets.swatch import swatch_html
from dashboard.widgets.text import plain
from tests.security.hostile import HOSTILE, examples, html_tags, markdown_html, printable, visible

pytestmark = pytest.mark.security

#: The classes the widgets' templates use.
CLASSES = {
    "atelier-card", "title", "meta", "atelier-chip", "good", "warn", "muted", "internal",
    "d2-card", "d2-swatch", "d2-body", "d2-name", "d2-meta", "d2-rank", "d2-chips", "d2-reason",
    "d2-note", "atelier-swatch",
}  # fmt: skip
ISOLATES = "\u2068\u2069"


def assert_inert(markup: str, *, block: bool = True) -> None:
    """Only the template's tags and attributes; as a block, one raw HTML block for Markdown."""
    tags, _, comments = html_tags(markup)
    assert not comments, markup
    for tag, attrs in tags:
        assert tag in {"div", "span"}, (tag, markup)
        assert set(attrs) <= {"class", "style", "title"}, (attrs, markup)
        assert set((attrs.get("class") or "").split()) <= CLASSES, (attrs, markup)
        style = attrs.get("style") or ""
        assert re.fullmatch(r"(background(-color)?:[^;\"<>]+;?(color:#[0-9A-F]{6})?)?", style), (
            style
        )
    if block:
        rendered = markdown_html(markup).strip()
        assert rendered == markup.strip(), "Markdown must keep the card as one raw HTML block"


def shows(markup: str, field: object, max_len: int) -> None:
    """The reader sees ``field`` as :func:`plain` cleans and cuts it (isolates aside)."""
    text = visible(markup).translate({ord(c): None for c in ISOLATES})
    expected = printable(plain(field, max_len))
    assert expected in printable(text), (expected, text)


@examples(200)
@given(
    name=HOSTILE,
    designer=HOSTILE,
    category=HOSTILE,
    color=HOSTILE,
    reasons=st.lists(HOSTILE, max_size=3),
    note=HOSTILE,
    rank=st.none() | st.integers(1, 99),
)
def test_product_cards_never_render_as_markup(
    tried, name, designer, category, color, reasons, note, rank
):
    tried("product card (name, designer, category, colour)", 4)
    tried("product card reason", len(reasons))
    tried("product card note")
    row = {
        "name": name, "designer": designer, "category": category, "color": color,
        "price": 1250.0, "currency": "EUR", "reasons": reasons, "note": note,
        "stock_here": 1, "stock_online": 2, "pinned": True, "source": "manual",
    }  # fmt: skip
    card = card_html(row, rank)
    assert_inert(card)
    shows(card, name, 160)
    for reason in reasons[:2]:
        shows(card, reason, 160)
    shows(card, note, 200)


@examples(200)
@given(label=HOSTILE, tone=st.sampled_from(["", "good", "warn", "muted", "internal"]))
def test_chips_never_render_as_markup(tried, label, tone):
    tried("chip")
    chip = chip_html(label, tone)
    assert_inert(f"<div>{chip}</div>")  # as render_chips draws it
    shows(chip, label, 80)
    several = chips_html([label, (label, tone)])
    assert_inert(several, block=False)


@examples(200)
@given(client=HOSTILE, title=HOSTILE, author=HOSTILE, updated_by=HOSTILE)
def test_list_cards_never_render_as_markup(tried, client, title, author, updated_by):
    tried("list card (client, title, author, editor)", 4)
    row = {
        "client_name": client, "title": title, "author": author, "updated_by": updated_by,
        "status": "draft", "items": 3, "updated_at": None,
    }  # fmt: skip
    card = list_card_html(row)
    assert_inert(card)
    shows(card, client, 120)
    shows(card, title, 200)


@examples(200)
@given(title=HOSTILE, lines=st.lists(HOSTILE, max_size=3), colour=HOSTILE)
def test_html_cards_and_swatches_never_render_as_markup(tried, title, lines, colour):
    tried("html card (title, lines)", 1 + len(lines))
    tried("colour swatch")
    card = html_card(title, lines)
    assert_inert(card)
    shows(card, title, 200)
    for line in lines:
        shows(card, line, 500)
    swatch = swatch_html(colour)
    assert_inert(f'<div class="meta">{swatch}</div>')
    shows(swatch, colour, 40)


@examples(200)
@given(name=HOSTILE, designers=HOSTILE, products=HOSTILE, change=HOSTILE)
def test_cluster_cards_never_render_as_markup(tried, name, designers, products, change):
    tried("cluster card (name, designers, products, change)", 4)
    row = {
        "cluster": 2, "name": name, "n_products": 3, "catalogue_share": 0.1,
        "demand_share": 0.2, "price_low": 1.0, "price_median": 2.0, "price_high": 3.0,
        "top_designers": designers, "top_products": products,
    }  # fmt: skip
    card = cluster_card_html(row, {"change_label": change, "rising": True})
    assert_inert(card)
    shows(card, products, 300)


@pytest.mark.parametrize(
    "raw",
    [
        '<div class="meta"><b>x</b></div>',
        '<div class="meta" onclick="x()">x</div>',
        '<div class="meta">a</div>\n\n**b**',
        '<div class="meta"><!-- x --></div>',
    ],
)
def test_the_checks_catch_live_markup(raw):
    """The properties above would fail on unescaped input (the checker is not blind)."""
    with pytest.raises(AssertionError):
        assert_inert(raw)
