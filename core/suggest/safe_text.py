"""Text made safe to put in a sentence, and text made safe for a client to read.

Product names are plain text: they are inserted as they are, never escaped
or turned into markup (the dashboard and the PDF escape at rendering), with
three documented exceptions made by :func:`plain_text`: control characters
(newlines, tabs, NUL, ...) become spaces, names longer than
:data:`MAX_NAME_CHARS` characters are cut to that length with a final "…",
and bidirectional embeddings a name opens but does not close are closed at
its end, so a name cannot reverse the rest of the sentence.

Client-facing text (the client's reasons in :mod:`core.suggest.reasons`, and
every field of a lookbook, its message and its PDF in :mod:`core.app.lookbook`)
goes through :func:`client_text`, the one cleaning of what a client reads: it
carries no bidirectional control characters at all (a pasted message cannot
display reordered) and no other control characters but newlines.
"""

from __future__ import annotations

import re
import unicodedata

#: Longest product name kept whole in a reason; longer ones end with "…".
MAX_NAME_CHARS = 120

_EMBED_OPEN = frozenset("\u202a\u202b\u202d\u202e")  # LRE RLE LRO RLO
_EMBED_CLOSE = "\u202c"  # PDF
_ISOLATE_OPEN = frozenset("\u2066\u2067\u2068")  # LRI RLI FSI
_ISOLATE_CLOSE = "\u2069"  # PDI
#: Bidirectional controls: embeddings, overrides, isolates, LRM/RLM and the Arabic letter mark.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
#: What :func:`client_text` removes: bidi controls, C0/C1 controls but tab and newline, surrogates.
_NOT_CLIENT_TEXT = re.compile(
    "[" + "".join(sorted(BIDI_CONTROLS)) + "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]"
)


def plain_text(text: object, limit: int = MAX_NAME_CHARS) -> str:
    """A product name (or any user-supplied text) made safe to put in a sentence.

    The text is kept as it is -- HTML, script tags, emoji, right-to-left
    scripts included -- except that control characters become spaces,
    text longer than ``limit`` characters is cut to ``limit`` (the last one
    an ellipsis, never splitting a base character from its combining marks),
    and unclosed bidirectional embeddings/isolates are closed at the end.
    """
    s = "" if text is None else str(text)
    s = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in s)
    if len(s) > limit:
        cut = max(limit - 1, 0)
        while cut > 0 and (
            unicodedata.combining(s[cut])
            or s[cut] in "\u200d\ufe0e\ufe0f"
            or 0xE0020 <= ord(s[cut]) <= 0xE007F  # emoji tag characters
        ):
            cut -= 1
        s = s[:cut] + "…"
    embeds = sum(ch in _EMBED_OPEN for ch in s) - s.count(_EMBED_CLOSE)
    isolates = sum(ch in _ISOLATE_OPEN for ch in s) - s.count(_ISOLATE_CLOSE)
    return s + _EMBED_CLOSE * max(embeds, 0) + _ISOLATE_CLOSE * max(isolates, 0)


def client_text(text: object) -> str:
    r"""Text a client reads, cleaned the one way every client-facing renderer uses.

    The lookbook (its fields, message and PDF), the share preview and the
    client's reasons all call this. Everything printable is kept as it is
    (HTML, Markdown, emoji sequences, right-to-left scripts, combining marks);
    removed are:

    - bidirectional controls (:data:`BIDI_CONTROLS`): a right-to-left
      override pasted into a chat would display the rest of the message
      reordered, and an embedding left open would spill into what follows;
    - control characters other than newline and tab (a carriage return
      included), and lone surrogates, which no file or font can carry.

    Parameters
    ----------
    text : object
        Any value; ``None`` gives ``""``.

    Returns
    -------
    str

    Examples
    --------
    >>> client_text("\u202eevil\u202c tote\r\n")
    'evil tote\n'
    """
    return "" if text is None else _NOT_CLIENT_TEXT.sub("", str(text))
