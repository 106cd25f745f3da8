"""The products of the Online Retail data: one per stock code, with a category from keywords."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.data.importers.common import bool_text, most_frequent

CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "BAUBLE", "SNOWFLAKE")),
    ("candles", ("CANDLE", "T-LIGHT", "TEA LIGHT", "TLIGHT", "INCENSE", "OIL BURNER")),
    ("bags", ("BAG", "TOTE", "SHOPPER", "PURSE", "HANDBAG", "RUCKSACK", "BACKPACK")),
    ("jewellery", ("NECKLACE", "BRACELET", "EARRING", "BROOCH", "CHARM", "BEAD", "HAIR CLIP")),
    (
        "tableware",
        ("MUG", "CUP", "SAUCER", "PLATE", "BOWL", "TEAPOT", "JUG", "TUMBLER", "NAPKIN")
        + ("CUTLERY", "DISH", "COASTER", "PLACEMAT", "TEA SET"),
    ),
    (
        "kitchen",
        ("CAKE", "BAKING", "APRON", "JAR", "TIN", "LUNCH BOX", "TEA TOWEL", "COOKIE")
        + ("KITCHEN", "PANTRY", "PAN", "RACK"),
    ),
    ("lighting", ("LIGHT", "LAMP", "LANTERN", "CHANDELIER")),
    ("cards", ("CARD",)),
    ("party", ("PARTY", "EASTER", "BALLOON", "BIRTHDAY", "CRACKER")),
    ("gift wrap", ("WRAP", "GIFT TAPE", "RIBBON", "TISSUE")),
    ("stationery", ("NOTEBOOK", "PENCIL", "PEN", "STICKER", "DIARY", "ERASER", "CALENDAR")),
    ("toys & games", ("TOY", "GAME", "DOLL", "PUZZLE", "JIGSAW", "SKIPPING ROPE", "DOMINOES")),
    ("garden", ("GARDEN", "PLANT", "PLANTER", "WATERING CAN", "BIRD HOUSE", "BIRD FEEDER")),
    (
        "textiles",
        ("CUSHION", "THROW", "BLANKET", "HOT WATER BOTTLE", "HAND WARMER", "UMBRELLA", "SCARF"),
    ),
    (
        "home decor",
        ("SIGN", "FRAME", "CLOCK", "MIRROR", "HOOK", "DOORMAT", "WREATH", "VASE", "DECORATION")
        + ("HANGING", "GARLAND", "BUNTING", "ORNAMENT", "MAGNET", "TILE", "WALL ART", "HEART"),
    ),
    ("storage", ("BOX", "BASKET", "TRAY", "DRAWER", "CABINET", "CRATE")),
)
"""Category rules, first match wins: a keyword matches a whole word, plural too."""

DEFAULT_CATEGORY = "giftware"

CURRENCY = "GBP"


def _keyword_pattern(keywords: tuple[str, ...]) -> str:
    words = "|".join(re.escape(k) for k in keywords)
    return rf"(?<![A-Z0-9])(?:{words})(?:S|ES)?(?![A-Z0-9])"


_CATEGORY_PATTERNS: tuple[tuple[str, str], ...] = tuple(
    (category, _keyword_pattern(keywords)) for category, keywords in CATEGORY_KEYWORDS
)


def category_of(descriptions: pd.Series) -> pd.Series:
    """The category of each description, from :data:`CATEGORY_KEYWORDS`.

    Parameters
    ----------
    descriptions : Series of str
        Product descriptions in any case.

    Returns
    -------
    Series of str
        The first category whose keywords appear, else :data:`DEFAULT_CATEGORY`.

    Examples
    --------
    >>> category_of(pd.Series(["PINK FLORAL FELTCRAFT SHOULDER BAG", "RED RETROSPOT MUG",
    ...                        "WHITE HANGING HEART T-LIGHT HOLDER", "GIRAFFE WOODEN RULER"])).tolist()
    ['bags', 'tableware', 'candles', 'giftware']
    """
    text = descriptions.astype("string").fillna("").str.upper()
    out = pd.Series(DEFAULT_CATEGORY, index=descriptions.index, dtype=object)
    open_ = np.ones(len(text), dtype=bool)
    for category, pattern in _CATEGORY_PATTERNS:
        hit = text.str.contains(pattern, regex=True).to_numpy(dtype=bool, na_value=False)
        out[hit & open_] = category
        open_ &= ~hit
    return out


def derive_products(lines: pd.DataFrame) -> pd.DataFrame:
    """One product per ``product_id`` of the cleaned lines, as contract text.

    ``name`` is the most frequent description, ``description`` every
    description (most frequent first), ``price`` the median unit price of the
    sales (of all lines when a product has no sale), ``category`` from the
    name (:func:`category_of`); no launch date (a first sale is not one).
    """
    sales = lines[lines["event_type"] == "purchase"]
    by_product = lines.groupby("product_id", sort=True)
    price = sales.groupby("product_id")["price"].median()
    price = price.reindex(by_product.size().index).fillna(by_product["price"].median())
    name = most_frequent(lines, "product_id", "description").reindex(price.index)
    name = name.fillna(pd.Series("Product " + price.index.astype(str), index=price.index))
    variants = (
        lines.loc[lines["description"] != "", ["product_id", "description"]]
        .groupby(["product_id", "description"], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["product_id", "n"], ascending=[True, False], kind="stable")
        .groupby("product_id")["description"]
        .agg(" / ".join)
        .reindex(price.index)
        .fillna("")
    )
    return pd.DataFrame(
        {
            "product_id": price.index.astype(str),
            "name": name.to_numpy(),
            "category": category_of(name).to_numpy(),
            "price": price.to_numpy(),
            "currency": CURRENCY,
            "launch_date": "",
            "description": variants.to_numpy(),
            "sustainable": bool_text(False),
            "limited_edition": bool_text(False),
            "sensitive": bool_text(False),
            "markdown": bool_text(False),
        }
    )
