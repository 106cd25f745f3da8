"""The safe-text rule: user text shown literally, never as markup.

Every piece of user-provided text (client names, notes, list titles, product
names from an import) goes through :func:`safe` before it reaches Markdown
(``st.write``, ``st.markdown``, headers, button labels) and through
:func:`safe_html` before it reaches an HTML card. Nothing unescaped is ever
passed with ``unsafe_allow_html=True``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from core.suggest.safe_text import BIDI_CONTROLS

__all__ = ["plain", "safe", "safe_html"]

# Markdown punctuation (CommonMark lets any ASCII punctuation be backslash-escaped),
# plus Streamlit's own ":colour[...]", ":material/icon:" and "$math$" syntax.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'%@])")
# Bidi overrides and isolates inside user text could reorder what surrounds it.
_BIDI_CONTROLS = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# A line starting with a tab or four spaces would be a Markdown code block.
_INDENT = re.compile(r"(?m)^[ \t]+")
_WHITESPACE = re.compile(r"\s+")
# Markdown turns bare URLs and emails into links even when escaped; a word joiner
# (invisible) after the scheme, "www" or "@" stops that.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www|@)(?=[:./\w])")
WORD_JOINER = "\u2060"
ELLIPSIS = "…"


def plain(text: Any, max_len: int | None = 500, *, one_line: bool = True) -> str:
    """``text`` as a clean Python string: no bidi controls, truncated, optionally one line.

    ``None`` and NaN give ``""``. Used before any escaping.
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    value = _BIDI_CONTROLS.sub("", str(text)).replace("\x00", "")
    if one_line:
        value = _WHITESPACE.sub(" ", value).strip()
    if max_len is not None and len(value) > max_len:
        value = value[: max(max_len - 1, 0)].rstrip() + ELLIPSIS
    return value


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def _isolate(text: str) -> str:
    # First-strong isolate: an Arabic or Hebrew name stays a self-contained run.
    return f"\u2068{text}\u2069" if _has_rtl(text) else text


def safe(text: Any, max_len: int | None = 500, *, one_line: bool = True) -> str:
    """``text`` escaped for Streamlit Markdown: shows literally, never as markup.

    HTML tags, Markdown emphasis, links, headings, Streamlit colour and icon
    directives and LaTeX are all backslash-escaped, bare URLs and emails are
    kept from turning into links (an invisible word joiner); emoji and non-Latin
    scripts are kept; right-to-left text is isolated; long text is cut at
    ``max_len`` characters with an ellipsis.
    """
    value = plain(text, max_len, one_line=one_line)
    value = _AUTOLINK.sub(lambda m: m.group(1) + WORD_JOINER, value)
    escaped = _MD_SPECIAL.sub(r"\\\1", value)
    if not one_line:
        escaped = _INDENT.sub("", escaped).replace("\n", "  \n")
    return _isolate(escaped)


def safe_html(text: Any, max_len: int | None = 500) -> str:
    """``text`` escaped for HTML (for cards built as HTML); quotes escaped too."""
    return _isolate(html.escape(plain(text, max_len), quote=True))
