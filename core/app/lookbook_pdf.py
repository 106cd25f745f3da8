"""The lookbook as an A4 PDF: a colour swatch per product, the client's wording, the fonts.

The PDF embeds a Unicode TrueType font (DejaVu from the system when present)
and falls back, character by character, on the fonts of
:data:`FALLBACK_FONT_FILES` that are installed (Noto Color Emoji for emoji and
their sequences, Noto Sans for other scripts and symbols, Droid Sans Fallback
for Chinese, Japanese and Korean). A printable
character that no font can draw is printed as :data:`REPLACEMENT` and listed
in :attr:`LookbookPdf.replaced`, and the PDF then ends with a line saying so:
nothing printable is dropped silently. Only invisible characters
(:func:`is_invisible`: joiners, variation selectors) that no font carries are
left out. Every string first goes through the one cleaning of client-facing
text, :func:`core.suggest.reasons.client_text` (no bidirectional controls).
Text is never interpreted: fpdf2's markdown mode stays off, so ``**`` and
``<b>`` are printed as typed. Long words are broken across lines.

Without shaping (no HarfBuzz), an emoji sequence (family, flag, skin tone) is
drawn as its parts, and joined scripts show their letters unjoined.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.app.lookbook import Lookbook
from core.suggest.safe_text import client_text

_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/noto"),
    Path("/usr/share/fonts/google-noto-color-emoji-fonts"),
    Path("/usr/share/fonts/truetype/droid"),
    Path("/usr/share/fonts-droid-fallback/truetype"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
#: Fonts tried, in order, for a character the body font lacks (those installed are used).
#: Debian: ``fonts-noto-color-emoji``, ``fonts-noto-core`` and ``fonts-droid-fallback`` (CJK).
FALLBACK_FONT_FILES: tuple[str, ...] = (
    "NotoColorEmoji.ttf",
    "NotoSans-Regular.ttf",
    "NotoSansSymbols2-Regular.ttf",
    "NotoSansSymbols-Regular.ttf",
    "NotoSansMath-Regular.ttf",
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansBengali-Regular.ttf",
    "NotoSansTamil-Regular.ttf",
    "NotoSansThai-Regular.ttf",
    "NotoSansEthiopic-Regular.ttf",
    "DroidSansFallback.ttf",
    "DroidSansFallbackFull.ttf",
)
#: What the PDF prints for a character no installed font can draw.
REPLACEMENT = "\ufffd"

#: Swatch colours for the usual colour names (anything else gets a neutral sand).
COLOR_RGB: Mapping[str, tuple[int, int, int]] = {
    "black": (28, 26, 24),
    "white": (246, 244, 240),
    "ivory": (240, 234, 218),
    "cream": (238, 228, 206),
    "beige": (217, 200, 173),
    "camel": (193, 154, 107),
    "tan": (196, 160, 120),
    "cognac": (140, 82, 45),
    "brown": (110, 76, 52),
    "chocolate": (82, 52, 36),
    "taupe": (150, 134, 118),
    "grey": (140, 140, 140),
    "gray": (140, 140, 140),
    "charcoal": (64, 64, 66),
    "navy": (31, 42, 68),
    "blue": (52, 86, 150),
    "sky": (150, 190, 225),
    "green": (58, 110, 76),
    "olive": (110, 112, 60),
    "khaki": (160, 150, 100),
    "red": (170, 32, 40),
    "burgundy": (110, 24, 40),
    "pink": (230, 170, 180),
    "blush": (236, 196, 190),
    "purple": (100, 60, 120),
    "lilac": (190, 170, 210),
    "yellow": (226, 190, 70),
    "orange": (220, 120, 50),
    "gold": (201, 164, 80),
    "silver": (192, 192, 196),
    "multicolor": (170, 140, 160),
}
_DEFAULT_RGB = (221, 213, 200)


def color_rgb(color: str) -> tuple[int, int, int]:
    """The swatch colour of a colour name (first known word wins; sand otherwise)."""
    for word in re.split(r"[\s/_-]+", (color or "").lower()):
        if word in COLOR_RGB:
            return COLOR_RGB[word]
    return _DEFAULT_RGB


def find_unicode_font() -> tuple[Path | None, Path | None]:
    """Paths of a regular and a bold Unicode TTF (DejaVu Sans), or ``None``."""
    regular = bold = None
    for folder in _FONT_DIRS:
        if regular is None and (folder / "DejaVuSans.ttf").is_file():
            regular = folder / "DejaVuSans.ttf"
        if bold is None and (folder / "DejaVuSans-Bold.ttf").is_file():
            bold = folder / "DejaVuSans-Bold.ttf"
    return regular, bold


def find_fallback_fonts() -> tuple[Path, ...]:
    """The installed fonts of :data:`FALLBACK_FONT_FILES`, in that order."""
    found: list[Path] = []
    for name in FALLBACK_FONT_FILES:
        path = next((d / name for d in _FONT_DIRS if (d / name).is_file()), None)
        if path is not None:
            found.append(path)
    return tuple(found)


#: Default-ignorable characters that are not format characters (Cf): variation selectors,
#: the combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian selectors.
_IGNORABLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0]
    + list(range(0x180B, 0x1810))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
)


def is_invisible(ch: str) -> bool:
    """Whether ``ch`` has nothing to draw on its own (joiners, selectors, format marks).

    Such a character is left out of the PDF when no font carries it; every
    other character is drawn or printed as :data:`REPLACEMENT`.
    """
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs") or ord(ch) in _IGNORABLE


#: Without a Unicode font: common typography the core fonts lack, spelled in Latin-1.
_LATIN1_STAND_INS: Mapping[str, str] = {
    "€": "EUR ",
    "—": "-",
    "–": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "•": "-",
}


@functools.lru_cache(maxsize=32)
def font_codepoints(path: Path) -> frozenset[int]:
    """The characters a TrueType font has glyphs for (read once per process and file)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


class _Writer:
    """Wraps fpdf2 so that every string goes through one glyph filter.

    The body font is DejaVu (Helvetica, Latin-1 only, without it); of the fonts
    of :func:`find_fallback_fonts`, those that draw a character of ``texts``
    the body font lacks are embedded (each embedded font costs time and size).
    ``replaced`` collects the characters printed as a replacement mark.
    """

    def __init__(self, house_name: str, texts: Iterable[str]) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=18)
        self.pdf.set_margins(20, 18, 20)
        self.pdf.set_title(client_text(house_name) or "Lookbook")
        self.replaced: dict[str, None] = {}
        regular, bold = find_unicode_font()
        self.unicode = regular is not None
        self._cmap: set[int] = set()
        self.family = "Helvetica"
        if regular is not None:
            self.family = "Body"
            self.pdf.add_font("Body", "", str(regular))
            self.pdf.add_font("Body", "B", str(bold or regular))
            self._cmap = set(font_codepoints(regular)) | font_codepoints(bold or regular)
            missing = {ord(ch) for text in texts for ch in client_text(text)} - self._cmap
            fallbacks: list[str] = []
            for path in find_fallback_fonts():
                drawn = missing & font_codepoints(path)
                if drawn:
                    fallbacks.append(f"Fallback{len(fallbacks)}")
                    self.pdf.add_font(fallbacks[-1], "", str(path))
                    self._cmap |= drawn
                    missing -= drawn
            # "Body" too: a glyph the bold face lacks is taken from the regular one.
            self.pdf.set_fallback_fonts(["Body", *fallbacks], exact_match=False)
        self.mark = REPLACEMENT if ord(REPLACEMENT) in self._cmap else "?"

    def clean(self, text: str) -> str:
        """``text`` as the fonts can draw it; what none can is counted in ``replaced``.

        Without a Unicode font, common typography is spelled in Latin-1
        (``€`` -> ``EUR``) and accented letters lose their accent; the rest is
        replaced. Spaces and line separators the fonts lack become a space or
        a new line; invisible characters (:func:`is_invisible`) are left out.
        """
        out = []
        for ch in client_text(text).replace("\t", "    "):
            if ch == "\n" or (ord(ch) in self._cmap if self.unicode else ord(ch) < 256):
                out.append(ch)
            elif unicodedata.category(ch) in ("Zl", "Zp"):
                out.append("\n")
            elif ch.isspace():
                out.append(" ")
            elif is_invisible(ch):
                continue  # joiners and selectors: nothing to see on their own
            elif not self.unicode and ch in _LATIN1_STAND_INS:
                out.append(_LATIN1_STAND_INS[ch])
            else:
                folded = ""
                if not self.unicode:
                    raw = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore")
                    folded = raw.decode("latin-1")
                out.append(folded or self.mark)
                self.replaced[ch] = None
        return "".join(out)

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def para(
        self,
        text: str,
        size: float = 10.5,
        bold: bool = False,
        h: float = 5.5,
        x: float | None = None,
        w: float = 0,
    ) -> None:
        self.font(size, bold)
        if x is not None:
            self.pdf.set_x(x)
        # markdown=False: '**' and '<b>' are printed, never interpreted.
        self.pdf.multi_cell(w, h, self.clean(text), new_x="LMARGIN", new_y="NEXT", markdown=False)


@dataclass(frozen=True)
class LookbookPdf:
    """A rendered lookbook: the PDF file and what its fonts could not draw.

    Attributes
    ----------
    data : bytes
        The PDF file.
    replaced : tuple of str
        Distinct characters printed as :data:`REPLACEMENT` (``?`` without a
        Unicode font), in order of first appearance; empty when every
        character was drawn.
    """

    data: bytes
    replaced: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """For the associate: which characters the PDF shows as a replacement ('' if none)."""
        if not self.replaced:
            return ""
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in self.replaced[:8])
        more = f" and {len(self.replaced) - 8} more" if len(self.replaced) > 8 else ""
        n = len(self.replaced)
        return (
            f"The PDF's fonts cannot draw {n} character{'s' if n != 1 else ''} "
            f"({shown}{more}): {'they are' if n != 1 else 'it is'} printed as a replacement mark."
        )


def _texts(lookbook: Lookbook) -> list[str]:
    """Every string the PDF prints (to pick the fallback fonts it needs)."""
    texts = [lookbook.house_name.upper(), lookbook.title, lookbook.date_text, lookbook.greeting]
    texts += [lookbook.message, lookbook.closing, lookbook.signature]
    for item in lookbook.items:
        texts += [item.name, item.designer, item.price_text, item.text, " · "]
    return texts


def lookbook_pdf(lookbook: Lookbook) -> bytes:
    """Render the lookbook as an A4 PDF (Unicode fonts embedded when available).

    Returns
    -------
    bytes
        The PDF file (:func:`render_lookbook_pdf` also says what was replaced).
    """
    return render_lookbook_pdf(lookbook).data


def render_lookbook_pdf(lookbook: Lookbook) -> LookbookPdf:
    """Render the lookbook as an A4 PDF and report the characters no font could draw.

    When some were replaced, the PDF ends with a line that says so.

    Returns
    -------
    LookbookPdf
    """
    w = _Writer(lookbook.house_name, _texts(lookbook))
    pdf = w.pdf
    pdf.add_page()
    pdf.set_text_color(107, 79, 58)
    w.para(lookbook.house_name.upper(), size=9, bold=True)
    pdf.set_text_color(31, 27, 22)
    pdf.ln(2)
    w.para(lookbook.title, size=20, bold=True, h=9)
    pdf.set_text_color(120, 110, 100)
    w.para(lookbook.date_text, size=9)
    pdf.set_text_color(31, 27, 22)
    pdf.ln(6)
    w.para(lookbook.greeting, size=11)
    pdf.ln(1)
    w.para(lookbook.message, size=11)
    pdf.ln(6)

    swatch = 22.0
    text_x = pdf.l_margin + swatch + 6
    text_w = pdf.w - pdf.r_margin - text_x
    for item in lookbook.items:
        if pdf.get_y() > pdf.h - pdf.b_margin - swatch - 8:
            pdf.add_page()
        top, page = pdf.get_y(), pdf.page_no()
        pdf.set_draw_color(221, 213, 200)
        pdf.set_fill_color(*color_rgb(item.color))
        pdf.rect(pdf.l_margin, top, swatch, swatch, style="DF")
        pdf.set_xy(text_x, top)
        w.para(item.name, size=12, bold=True, h=6, x=text_x, w=text_w)
        meta = " · ".join(p for p in (item.designer, item.price_text) if p)
        if meta:
            pdf.set_text_color(107, 79, 58)
            w.para(meta, size=10, x=text_x, w=text_w)
            pdf.set_text_color(31, 27, 22)
        if item.text:
            w.para(item.text, size=10, x=text_x, w=text_w, h=5)
        # Keep at least the swatch's height, then a gap before the next item.
        if pdf.page_no() == page and pdf.get_y() < top + swatch:
            pdf.set_y(top + swatch)
        pdf.ln(6)

    pdf.ln(4)
    w.para(lookbook.closing, size=11)
    w.para(lookbook.signature, size=11, bold=True)
    if w.replaced:
        pdf.ln(4)
        pdf.set_text_color(120, 110, 100)
        w.para(f"Some characters cannot be shown in this document and appear as {w.mark}.", size=8)
    return LookbookPdf(bytes(pdf.output()), tuple(w.replaced))
