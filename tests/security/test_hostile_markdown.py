"""Hostile text through the Markdown renderers: safe text, lookup results, the share preview.

Each output is rendered as GitHub-flavoured CommonMark (markdown-it, links
detected as GitHub does) and must hold nothing but the template's own tags;
Streamlit's own syntax (``$`` for LaTeX, ``:`` for colours, icons and emoji
shortcodes) must be backslash-escaped; what a reader sees is the input after
the documented cleaning (:func:`dashboard.widgets.text.plain`: no bidi
controls, whitespace collapsed, cut with an ellipsis).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.app.lookbook import build_lookbook
from core.suggest.reasons import client_text
from dashboard.sections.share import preview_markdown
from dashboard.widgets.cards import client_card_label, full_name
from dashboard.widgets.text import WORD_JOINER, plain, safe
from tests.security.hostile import (
    BIDI_CONTROLS,
    HOSTILE,
    examples,
    html_tags,
    markdown_html,
    printable,
    unescaped_chars,
)

pytestmark = pytest.mark.security

#: What Streamlit's Markdown would turn into LaTeX, a directive, strikethrough or a table.
STREAMLIT_SYNTAX = "$:~|"
ISOLATES = "\u2068\u2069"  # first-strong isolate and its pop: safe() wraps RTL text in them


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _invisible_marks(text: str) -> str:
    """``text`` without word joiners and isolates (safe() adds them; a reader sees nothing)."""
    return text.translate({ord(c): None for c in WORD_JOINER + ISOLATES})


def seen(markdown: str) -> str:
    """What a reader sees of ``markdown``: its text, without the invisible joiners and isolates."""
    tags, text, _ = html_tags(markdown_html(markdown))
    return flat(_invisible_marks(text))


def indented(text: str) -> bool:
    """Whether a line of ``text`` starts with a tab or four spaces (a Markdown code block)."""
    return any(re.match(r" {0,3}\t| {4}", line) for line in text.split("\n"))


def assert_inert(markdown: str, allowed: set[str]) -> None:
    tags, _, comments = html_tags(markdown_html(markdown))
    assert {t for t, _ in tags} <= allowed, (markdown, tags)
    assert not comments, markdown
    assert not unescaped_chars(markdown, STREAMLIT_SYNTAX), markdown


@examples(200)
@given(text=HOSTILE, max_len=st.sampled_from([None, 1, 40, 500]), one_line=st.booleans())
def test_safe_text_never_renders_as_markup(tried, text, max_len, one_line):
    expected = plain(text, max_len, one_line=one_line)
    tried("safe() Markdown text")
    out = safe(text, max_len, one_line=one_line)
    assert_inert(out, {"p", "br"})
    assert seen(out) == flat(_invisible_marks(expected))
    bidi = [ch for ch in out if ch in BIDI_CONTROLS]
    assert bidi in ([], list(ISOLATES)), bidi  # only the isolate pair safe() adds


@examples(200)
@given(first=HOSTILE, last=HOSTILE, store=HOSTILE, own=st.booleans())
def test_lookup_result_labels_never_render_as_markup(tried, first, last, store, own):
    tried("lookup result label", 3)
    row = {"client_id": "C1", "first_name": first, "last_name": last, "home_store_id": "S1"}
    label = client_card_label(row, store_names={"S1": store}, own=own)
    assert_inert(label, {"p", "strong", "br"})
    name = flat(_invisible_marks(plain(full_name(row), 90)))
    assert name in seen(label)
    tags = [t for t, _ in html_tags(markdown_html(label))[0]]
    assert tags.count("strong") == 1  # the template's bold name, nothing else


@examples(200)
@given(
    name=HOSTILE,
    designer=HOSTILE,
    reason=HOSTILE,
    message=HOSTILE,
    client=HOSTILE,
    associate=HOSTILE,
)
def test_share_preview_never_renders_as_markup(
    tried, name, designer, reason, message, client, associate
):
    tried("share preview", 6)
    items = [{"product_id": "P1", "name": name, "designer": designer, "client_reason": reason}]
    book = build_lookbook({"first_name": client}, items, associate, "Maison", on=date(2026, 3, 1))
    blocks = preview_markdown(book)
    for block in blocks:
        assert_inert(block, {"p", "h4", "strong", "em", "br"})
        bidi = [ch for ch in block if ch in BIDI_CONTROLS]
        assert not set(bidi) - set(ISOLATES), block  # only the isolates safe() adds
    shown = " ".join(seen(b) for b in blocks)
    item = book.items[0]
    for field, limit in ((item.name, 160), (item.designer, 120), (item.text, 300)):
        expected = printable(plain(client_text(field), limit))
        assert expected in printable(shown), (field, shown)


@pytest.mark.parametrize("text", ["\t=1", "Dear Ana,\n\n    indented line"])
def test_multi_line_safe_text_with_an_indented_line_stays_a_paragraph(text):
    tags, _, _ = html_tags(markdown_html(safe(text, one_line=False)))
    assert {t for t, _ in tags} <= {"p", "br"}


@pytest.mark.parametrize(
    "raw", ["**bold**", "www.evil.example", "[a](http://evil.example)", "$x$", ":red[x]", "# h"]
)
def test_the_checks_catch_live_markup(raw):
    """The properties above would fail on unescaped input (the checker is not blind)."""
    with pytest.raises(AssertionError):
        assert_inert(raw, {"p", "br"})
    assert_inert(safe(raw), {"p", "br"})
