"""Hostile text for the property-based suite: hypothesis strategies and the checks they share.

Every strategy draws text a user, an import or a pasted message could carry:
markup (HTML, Markdown, Streamlit directives, LaTeX), links, spreadsheet
formulas, bidirectional controls, zero-width and combining characters, emoji
sequences (ZWJ, flags, skin tones, keycaps, tags), very long and empty
strings, and plain text of any script. :data:`HOSTILE` mixes them.

The checks are the suite's properties:

- :func:`markdown_tags` / :func:`html_tags`: what a renderer's output turns
  into (so a test can say "nothing but the template's own tags");
- :func:`printable` and :func:`contains_chars`: nothing printable is dropped
  silently;
- :data:`BIDI_CONTROLS` (from the code under test): client text carries none.

Every test sets its number of examples explicitly with :func:`examples`
(derandomized, no example database, no deadline), so CI runs the same
examples each time.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from html.parser import HTMLParser

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from core.suggest.reasons import BIDI_CONTROLS

__all__ = [
    "BIDI_CONTROLS",
    "HOSTILE",
    "SETTINGS",
    "contains_chars",
    "examples",
    "html_tags",
    "markdown_html",
    "printable",
]

#: Derandomized (the same examples on every run), no example database, no deadline.
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(n: int) -> settings:
    """:data:`SETTINGS` with ``max_examples=n`` (a decorator)."""
    return settings(SETTINGS, max_examples=n)


MARKUP = st.sampled_from(
    [
        "<script>alert('x')</script>",
        "<b>bold</b>",
        "<img src=x onerror=alert(1)>",
        "</div></span><div style='position:fixed'>",
        "<a href='javascript:alert(1)'>tap</a>",
        "<!-- comment -->",
        "<style>*{display:none}</style>",
        "&amp; &lt;b&gt; &#60;i&#62; &#x3C;",
        "<iframe src=//evil.example>",
        '"><svg onload=alert(1)>',
    ]
)
MARKDOWN = st.sampled_from(
    [
        "**bold**",
        "__bold__",
        "*it*",
        "_it_",
        "# Heading",
        "### h3",
        "> quote",
        "- item",
        "1. item",
        "---",
        "`code`",
        "```\nfence\n```",
        "~~strike~~",
        "| a | b |\n|---|---|",
        "[link](http://evil.example)",
        "![img](http://evil.example/x.png)",
        "<http://evil.example>",
        "[ref]: http://evil.example",
        ":red[coloured]",
        ":material/home:",
        ":smile:",
        "\\*escaped\\*",
        "%{y}",
        "%{customdata[0]}",
    ]
)
LATEX = st.sampled_from(
    ["$x$", "$$\\frac{1}{2}$$", "$5 and $10", "\\(a\\)", "\\[b\\]", "$\\alpha$", "$$"]
)
LINKS = st.sampled_from(
    [
        "http://evil.example/a?b=c",
        "https://evil.example",
        "www.evil.example",
        "mailto:a@evil.example",
        "a@evil.example",
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://evil.example",
        "//evil.example",
    ]
)
FORMULAS = st.sampled_from(
    [
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "＝1",
        '=HYPERLINK("http://evil.example")',
        " =1",
        "\n=1",
        "-12.5",
        "+3",
    ]
)
BIDI = st.sampled_from(sorted(BIDI_CONTROLS))
ZERO_WIDTH = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"])
COMBINING = st.builds(
    lambda base, marks: base + "".join(marks),
    st.sampled_from(["e", "a", "o", "Z", "ก", "ب", " "]),
    st.lists(st.characters(min_codepoint=0x300, max_codepoint=0x36F), min_size=1, max_size=4),
)
EMOJI = st.sampled_from(
    [
        "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family (ZWJ)
        "\U0001f468\U0001f3fd\u200d\U0001f4bb",  # technologist, skin tone, ZWJ
        "\U0001f1eb\U0001f1f7",  # flag FR
        "\U0001f1ef\U0001f1f5",  # flag JP
        "\U0001f44d\U0001f3ff",  # thumbs up, dark skin tone
        "1\ufe0f\u20e3",  # keycap
        "\u2764\ufe0f",  # heart, emoji presentation
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland (tags)
        "\U0001f45c\u2728",
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
    ]
)
SCRIPTS = st.sampled_from(
    [
        "Zoé Ærø ß",
        "حقيبة يد",
        "שלום",
        "नमस्ते",
        "中文 日本語",
        "한국어",
        "Привет",
        "Ελληνικά",
        "ქართული",
        "สวัสดี",
    ]
)
#: Plain text of any kind hypothesis likes (surrogates excluded: no str can be encoded with them).
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
WHITESPACE = st.sampled_from(["", " ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u3000", "\u2028"])

FRAGMENT = st.one_of(
    MARKUP, MARKDOWN, LATEX, LINKS, FORMULAS, BIDI, ZERO_WIDTH, COMBINING, EMOJI, SCRIPTS,
    ANY_TEXT, WHITESPACE, st.sampled_from(["Silk scarf", "Tote", "x", "—", "&", "<", "$", "\\"]),
)  # fmt: skip
#: A hostile string: a few fragments, now and then very long, sometimes empty.
HOSTILE = st.one_of(
    st.lists(FRAGMENT, max_size=6).map("".join),
    st.lists(FRAGMENT, min_size=1, max_size=3).map(lambda parts: "".join(parts) * 400),
    st.just(""),
)
#: Shorter hostile strings, for renderers that are slow per call (the PDF).
HOSTILE_SHORT = st.lists(FRAGMENT, max_size=4).map("".join)


# ------------------------------------------------------------------- checks
#: Whitespace, controls and format marks: what a reader does not see as a character.
_UNSEEN = {
    i: None
    for i in range(0x110000)
    if chr(i).isspace() or unicodedata.category(chr(i)) in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")
}


def printable(text: str) -> str:
    """The characters of ``text`` a reader can see: no whitespace, controls or format marks."""
    return text.translate(_UNSEEN)


def contains_chars(haystack: str, needle: str) -> Counter[str]:
    """The printable characters of ``needle`` missing from ``haystack`` (counted)."""
    return Counter(printable(needle)) - Counter(printable(haystack))


_MD = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(
    ["linkify", "strikethrough", "table"]
)
# linkify-it links "scheme:" links; its fuzzy bare domains and "//" links are not GitHub's,
# so they are off, and GitHub's "www." and email literals are found by GFM_AUTOLINK below.
_MD.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
_MD.linkify.add("//", None)
#: GitHub's autolink literals (Streamlit's remark-gfm): "www.", "http(s)://" and emails.
GFM_AUTOLINK = re.compile(
    r"(?i)(?:^|(?<=[\s*_~(]))(?:www\.|https?://)[^\s<]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)


def markdown_html(text: str) -> str:
    """``text`` rendered as CommonMark with GitHub's tables, strikethrough and links.

    Raw HTML is allowed (as ``unsafe_allow_html``); a GitHub autolink literal
    in the text becomes an ``<a>`` tag, as Streamlit's Markdown would make it.
    """
    tokens = _MD.parse(text)
    inline = "".join(
        child.content
        for token in tokens
        if token.type == "inline"
        for child in token.children or ()
        if child.type == "text"
    )
    out = _MD.renderer.render(tokens, _MD.options, {})
    return out + ("<a>gfm-autolink</a>" if GFM_AUTOLINK.search(inline) else "")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self.comments.append(decl)

    def unknown_decl(self, data: str) -> None:
        self.comments.append(data)


def html_tags(markup: str) -> tuple[list[tuple[str, dict[str, str | None]]], str, list[str]]:
    """The tags (name, attributes), the visible text and any comments of HTML ``markup``."""
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags, "".join(parser.text), parser.comments


def unescape_markdown(text: str) -> str:
    """Backslash escapes removed (what Markdown shows for ``\\*``)."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def unescape_shown(text: str) -> str:
    """What a page shows of ``dashboard.widgets.text.safe`` text: escapes and word joiners undone."""
    return unescape_markdown(text).replace("\u2060", "")


def unescaped_chars(text: str, chars: str) -> list[str]:
    """Characters of ``chars`` in ``text`` that are not backslash-escaped."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in chars:
            found.append(text[i])
        i += 1
    return found


def visible(markup: str) -> str:
    """The text a reader sees in HTML ``markup`` (entities decoded once, as a browser does)."""
    return html_tags(markup)[1]
