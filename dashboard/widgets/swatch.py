"""Colour swatches: a product colour name -> a small dot in that colour."""

from __future__ import annotations

from dashboard.widgets.text import safe_html

#: Colour names of the catalogue (and common synonyms) -> CSS colour.
COLOURS: dict[str, str] = {
    "black": "#111111",
    "white": "#FFFFFF",
    "ivory": "#FFFFF0",
    "cream": "#F3E9D2",
    "ecru": "#E9E2CF",
    "beige": "#D9C7A7",
    "camel": "#C19A6B",
    "sand": "#D8C8A8",
    "taupe": "#8B7D6B",
    "brown": "#6B4423",
    "chocolate": "#4E2A1E",
    "cognac": "#9A463D",
    "tan": "#D2B48C",
    "grey": "#8E8E8E",
    "gray": "#8E8E8E",
    "charcoal": "#36454F",
    "navy": "#1F2A44",
    "blue": "#2F5DA8",
    "sky": "#87CEEB",
    "green": "#3E7B4F",
    "olive": "#708238",
    "khaki": "#BDB76B",
    "red": "#B22222",
    "burgundy": "#6D1A36",
    "bordeaux": "#5C0120",
    "pink": "#E8A0B4",
    "blush": "#F0C8C8",
    "purple": "#6A4C93",
    "lilac": "#C8A2C8",
    "yellow": "#E8C547",
    "mustard": "#C9A227",
    "orange": "#E07B39",
    "gold": "#C9A44C",
    "silver": "#C0C0C0",
    "acid green": "#B0BF1A",
    "clear": "rgba(255,255,255,0.4)",
    "electric blue": "#2C75FF",
    "emerald": "#2E8B57",
    "forest green": "#228B22",
    "fuchsia": "#C2185B",
    "graphite": "#41424C",
    "neon orange": "#FF6F1F",
    "oxblood": "#4A0404",
    "rose": "#E7A5B0",
    "rose gold": "#B76E79",
    "sage": "#9CAF88",
    "sky blue": "#87CEEB",
    "stone": "#B8AFA2",
    "white gold": "#E8E4D8",
    "platinum": "#E5E4E2",
    "multicolour": "linear-gradient(135deg,#B22222,#E8C547,#2F5DA8)",
    "multicolor": "linear-gradient(135deg,#B22222,#E8C547,#2F5DA8)",
}
UNKNOWN = "#DDD5C8"


def colour_css(name: object) -> str:
    """The CSS colour of a colour name (case-insensitive); a neutral sand when unknown."""
    key = str(name or "").strip().lower()
    if key in COLOURS:
        return COLOURS[key]
    for word in key.replace("-", " ").split():
        if word in COLOURS:
            return COLOURS[word]
    return UNKNOWN


def swatch_html(name: object, *, with_label: bool = True) -> str:
    """A dot in the colour, followed by its (escaped) name."""
    css = colour_css(name)
    prop = "background" if css.startswith("linear-gradient") else "background-color"
    label = safe_html(name, 40) if with_label else ""
    title = safe_html(name, 40)
    return f'<span class="atelier-swatch" style="{prop}:{css}" title="{title}"></span>{label}'
