"""The lookbook PDF: emoji and other scripts drawn by fallback fonts, nothing dropped silently."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from core.app.lookbook import Lookbook, LookbookItem, build_lookbook, lookbook_message
from core.app.lookbook_pdf import (
    REPLACEMENT,
    find_fallback_fonts,
    find_unicode_font,
    render_lookbook_pdf,
)
from core.suggest.reasons import BIDI_CONTROLS

pytestmark = pytest.mark.security

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # woman, ZWJ, woman, ZWJ, girl
FLAG = "\U0001f1eb\U0001f1f7"  # regional indicators F R
THUMB = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone
KEYCAP = "1\ufe0f\u20e3"


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def one_item(name: str, **fields: str) -> Lookbook:
    item = {"product_id": "P1", "name": name, "designer": "Ardent", "price": 100.0, **fields}
    return build_lookbook({"first_name": "Ana"}, [item], "Claire", "Maison", on=date(2026, 3, 1))


def needs_fonts(*files: str) -> None:
    have = {p.name for p in find_fallback_fonts()}
    if find_unicode_font()[0] is None or not set(files) <= have:
        pytest.skip(f"fonts not installed: {files} (see the apt line of .ci/run)")


@pytest.mark.parametrize("emoji", ["\U0001f45c\u2728", FAMILY, FLAG, THUMB, KEYCAP])
def test_emoji_sequences_are_drawn_not_dropped(emoji: str) -> None:
    needs_fonts("NotoColorEmoji.ttf")
    pdf = render_lookbook_pdf(one_item(f"Sac {emoji} Zoé"))
    text = pdf_text(pdf.data)
    assert pdf.replaced == ()
    assert f"Sac {emoji} Zoé" in text
    assert REPLACEMENT not in text


def test_other_scripts_come_from_the_fallback_fonts() -> None:
    needs_fonts("NotoSansDevanagari-Regular.ttf", "DroidSansFallback.ttf")
    pdf = render_lookbook_pdf(one_item("नमस्ते 中文 한국어"))
    flat = re.sub(r"\s+", "", pdf_text(pdf.data))
    assert pdf.replaced == ()
    for word in ("नमस्ते", "中文", "한국어"):
        assert word in flat


def test_what_no_font_draws_is_replaced_and_said() -> None:
    private = "\ue000"  # private use: no font has it
    pdf = render_lookbook_pdf(one_item(f"Tote {private} noir"))
    text = pdf_text(pdf.data)
    assert pdf.replaced == (private,)
    mark = REPLACEMENT if find_unicode_font()[0] is not None else "?"
    assert f"Tote {mark} noir" in text
    assert "Some characters cannot be shown in this document" in text
    assert "U+E000" in pdf.note
    assert render_lookbook_pdf(one_item("Tote noir")).note == ""


def test_without_a_unicode_font_emoji_are_replaced_not_dropped(monkeypatch) -> None:
    import core.app.lookbook_pdf as lookbook_pdf_module

    monkeypatch.setattr(lookbook_pdf_module, "find_unicode_font", lambda: (None, None))
    pdf = render_lookbook_pdf(one_item("Coat \U0001f600 end"))
    assert "Coat ? end" in pdf_text(pdf.data)
    assert pdf.replaced == ("\U0001f600",)


def test_a_stored_share_with_bidi_controls_renders_without_them() -> None:
    """A share stored before the cleaning existed: the message and the PDF still drop them."""
    book = Lookbook(
        title="A selection for \u202eAna",
        greeting="Dear Ana,",
        message="Hello \u2067world\u2069 \u200f",
        items=(LookbookItem("P1", "Tote\u202e evil", "A", "bags", "black", "€1", "Yours\u061c"),),
        closing="Regards,",
        signature="Claire\nMaison",
        house_name="Maison",
        date_text="1 March 2026",
    )
    message = lookbook_message(book)
    assert not BIDI_CONTROLS & set(message)
    assert "Tote evil" in message
    text = pdf_text(render_lookbook_pdf(book).data)
    assert not BIDI_CONTROLS & set(text)
    assert "Tote evil" in text


def test_the_message_to_copy_of_a_share_has_no_right_to_left_override() -> None:
    book = one_item("\u202eLatot", client_reason="For you \u202dsoon\u202c")
    message = lookbook_message(book)
    assert "\u202e" not in message and "\u202d" not in message
    assert "Latot" in message and "For you soon" in message
