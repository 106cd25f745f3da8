"""Hostile text in what a client receives: the share message, the lookbook PDF, client reasons.

Properties: no bidirectional control reaches the client; nothing printable
is dropped silently -- each field comes out as the one cleaning of client
text (:func:`core.suggest.reasons.client_text`) leaves it, or, in the PDF,
as a replacement mark that the PDF and :attr:`LookbookPdf.replaced` both
declare; and nothing is interpreted (the message is plain text, the PDF's
markdown mode is off: ``**`` and ``<b>`` come back as typed).
"""

from __future__ import annotations

import io
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from core.app.lookbook import Lookbook, build_lookbook, is_client_safe, lookbook_message
from core.app.lookbook_pdf import REPLACEMENT, find_unicode_font, is_invisible, render_lookbook_pdf
from core.data.dataset import Dataset
from core.engine.models.base import Contribution, Explanation
from core.suggest.reasons import MAX_NAME_CHARS, client_reasons, client_text, plain_text
from tests.security.hostile import BIDI_CONTROLS, HOSTILE, HOSTILE_SHORT, examples, printable

pytestmark = pytest.mark.security


def lookbook_of(fields: dict[str, str], extra_items: Sequence[str] = ()) -> Lookbook:
    """A lookbook of ``fields``' product, then one product per three ``extra_items``
    (name, designer, reason)."""
    rows = [(fields["name"], fields["designer"], fields["reason"])]
    rows += [tuple(extra_items[i : i + 3]) for i in range(0, len(extra_items) - 2, 3)]
    items = [
        {"product_id": f"P{n + 1}", "name": name, "designer": designer,
         "client_reason": reason, "price": 1250.0, "currency": "GBP"}
        for n, (name, designer, reason) in enumerate(rows)
    ]  # fmt: skip
    client = {"first_name": fields["first"], "last_name": fields["last"]}
    return build_lookbook(
        client, items, fields["associate"], fields["house"],
        message=fields["message"], on=date(2026, 3, 1),
    )  # fmt: skip


def field_strategy(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    keys = ("name", "designer", "reason", "first", "last", "associate", "house", "message")
    return st.fixed_dictionaries({k: text for k in keys})


def expected_fields(fields: dict[str, str], book: Lookbook) -> dict[str, str]:
    """Each field as the client should read it (the documented cleaning and fallbacks)."""
    reason = client_text(fields["reason"]).strip()
    return {
        "name": client_text(fields["name"]) or "P1",
        "designer": client_text(fields["designer"]),
        "reason": reason if reason and is_client_safe(reason) else book.items[0].text,
        "first": client_text(fields["first"]).strip() or client_text(fields["last"]).strip(),
        "associate": client_text(fields["associate"]).strip() or "Your advisor",
        "house": client_text(fields["house"]).strip() or "Atelier",
        "message": client_text(fields["message"]).strip() or book.message,
    }


@examples(200)
@given(fields=field_strategy(HOSTILE))
def test_the_share_message_is_plain_client_text(tried, fields):
    tried("share message (8 fields)", 8)
    book = lookbook_of(fields)
    message = lookbook_message(book)
    assert not BIDI_CONTROLS & set(message)
    assert all(ch in "\n\t" or unicodedata.category(ch) != "Cc" for ch in message)
    seen = printable(message)
    for key, value in expected_fields(fields, book).items():
        assert printable(value) in seen, (key, value)


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def printed_strings(book: Lookbook) -> list[str]:
    """Every string the PDF prints, as the lookbook holds it."""
    texts = [book.house_name.upper(), book.title, book.date_text, book.greeting, book.message]
    texts += [book.closing, book.signature]
    for item in book.items:
        texts += [item.name, item.designer, item.price_text, item.text]
    return texts


@examples(25)
@given(fields=field_strategy(HOSTILE_SHORT), more=st.lists(HOSTILE_SHORT, min_size=6, max_size=6))
def test_the_lookbook_pdf_draws_or_declares_every_character(tried, fields, more):
    tried("lookbook PDF (14 fields, text extracted back)", 14)
    book = lookbook_of(fields, extra_items=more)
    pdf = render_lookbook_pdf(book)
    text = pdf_text(pdf.data)
    assert not BIDI_CONTROLS & set(text)
    wanted: Counter[str] = Counter()
    for s in printed_strings(book):
        wanted += Counter(ch for ch in printable(client_text(s)) if not is_invisible(ch))
    missing = wanted - Counter(printable(text))
    assert set(missing) <= set(pdf.replaced), (missing, pdf.replaced)
    if pdf.replaced:
        mark = REPLACEMENT if find_unicode_font()[0] is not None else "?"
        assert mark in text and "Some characters cannot be shown" in text


def _dataset(names: list[str]) -> Dataset:
    """A client who bought one product per name (``p0``, ``p1``, ...) and a target product."""
    ids = [f"p{i}" for i in range(len(names))]
    products = pd.DataFrame(
        {
            "product_id": [*ids, "target"],
            "name": [*names, "Target"],
            "category": ["bags"] * len(names) + ["shoes"],
            "price": 1.0,
        }
    )
    events = pd.DataFrame(
        {"client_id": "c1", "product_id": ids, "event_type": "purchase",
         "timestamp": pd.Timestamp("2026-01-01")}
    )  # fmt: skip
    return Dataset.from_frames(products, events)


@examples(10)
@given(names=st.lists(HOSTILE, min_size=20, max_size=20))
def test_client_reasons_name_the_product_without_bidi_controls(tried, names):
    tried("client reason (product name)", len(names))
    ds = _dataset(names)
    for i in range(len(names)):
        contribution = Contribution("item", f"p{i}", 1.0, "cf", "purchase")
        (reason,) = client_reasons(Explanation("c1", "target", 1, 1, 0, 0, (contribution,)), ds)
        assert not BIDI_CONTROLS & set(reason)
        shown = client_text(plain_text(ds.products["name"].iloc[i], MAX_NAME_CHARS))
        assert printable(shown) in printable(reason)
