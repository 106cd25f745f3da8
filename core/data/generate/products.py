"""The products of the catalogue: each product's segment shapes most of its attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.generate.draws import cumulative, pick_index, weights_over
from core.data.generate.parameters import COLD_PRODUCT_DAYS, COLD_PRODUCT_SHARE
from core.data.generate.segments import SEGMENT_NAMES, SEGMENTS
from core.data.generate.text import article
from core.data.generate.vocabulary import (
    CATEGORIES,
    CATEGORY_NAMES,
    COLORS,
    DESIGNERS,
    HEAVY_SUBCATEGORIES,
    MATERIALS,
    MODEL_NAMES,
    PALETTE_COLORS,
    PLURAL,
    PRICE_FACTOR,
    SEASON_WEIGHTS,
    SENSITIVE_SUBCATEGORIES,
    SUB_MATERIALS,
    SUBCATEGORIES,
    SUSTAINABLE_MATERIALS,
    TAGS,
    TAGS_ARRAY,
    WARM_MATERIALS,
    size_run,
)
from core.data.schema import join_list


def nice_price(x: np.ndarray) -> np.ndarray:
    """Prices rounded to a step that grows with them (5, 50, 100), at least 45."""
    step = np.where(x < 500, 5.0, np.where(x < 5_000, 50.0, 100.0))
    return np.maximum(np.round(x / step) * step, 45.0)


def season_code(ts: pd.Timestamp) -> str:
    """The collection code of a date: ``SS26`` (January-June) or ``FW26``."""
    return f"{'SS' if ts.month < 7 else 'FW'}{ts.year % 100:02d}"


def palette_distributions(
    labels: tuple[str, ...], rows: list[tuple[tuple[str, ...], tuple[str, ...]]], own: float
) -> np.ndarray:
    """Cumulative distributions over ``labels``, one per (palette, allowed) row:
    ``own`` of the mass on the palette's allowed labels, the rest on all allowed."""
    p = np.zeros((len(rows), len(labels)))
    for i, (palette, allowed) in enumerate(rows):
        mine = [x for x in palette if x in allowed]
        for x in allowed:
            p[i, labels.index(x)] += (1 - own if mine else 1.0) / len(allowed)
        for x in mine:
            p[i, labels.index(x)] += own / len(mine)
    return cumulative(p)


def draw_products(rng: np.random.Generator, n: int, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """Product attributes; each product's segment shapes ~80% of its draws.

    The draws come from ``rng`` in a fixed order (kinds, looks, launches,
    prices, names), so a seed gives the same catalogue.
    """
    seg, cat, sub = _kinds(rng, n)
    subcat = np.array([name for _, name, _ in SUBCATEGORIES], dtype=object)[sub]
    designer, material, color, tag_i = _looks(rng, seg, sub)
    launch_rel, collection, cold = _launches(rng, n, as_of)
    price, markdown = _prices(rng, seg, cat, material, launch_rel)
    sustainable, limited = _flags(rng, seg, material)
    model = np.array(MODEL_NAMES, dtype=object)[rng.integers(0, len(MODEL_NAMES), n)]
    frag = cat == CATEGORY_NAMES.index("fragrance")
    tags, description = _descriptions(tag_i, frag, material, subcat, color, designer, collection)
    width = max(5, len(str(n)))
    return {
        "product_id": np.array([f"p{i + 1:0{width}d}" for i in range(n)], dtype=object),
        "name": model + " " + subcat + np.where(frag, "", " in " + material),
        "category": np.array(CATEGORY_NAMES, dtype=object)[cat],
        "price": price,
        "designer": designer,
        "subcategory": subcat,
        "material": material,
        "color": color,
        "currency": np.full(n, "EUR", dtype=object),
        "collection": collection,
        "launch_date": (np.datetime64(as_of.date(), "D") + launch_rel).astype("datetime64[us]"),
        "style_tags": tags,
        "description": description,
        "sustainable": sustainable,
        "limited_edition": limited,
        "sensitive": np.isin(subcat, list(SENSITIVE_SUBCATEGORIES)),
        "markdown": markdown,
        "warmth": _warmth(cat, material, subcat),
        "sizes": _size_runs(cat, subcat),
        # internal, not part of the table
        "_segment": seg,
        "_category": cat,
        "_launch_rel": launch_rel,
        "_cold": cold,
    }


def _kinds(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each product's segment, category and subcategory (indices)."""
    segs = list(SEGMENTS.values())
    n_seg = len(segs)
    shares = np.array([s.share for s in segs])
    seg = rng.choice(n_seg, size=n, p=shares / shares.sum())
    seg[rng.permutation(n)[:n_seg]] = np.arange(n_seg)  # every segment is represented
    cat_p = np.array([weights_over(s.categories, CATEGORY_NAMES) for s in segs])
    cat_p = 0.85 * cat_p / cat_p.sum(1, keepdims=True) + 0.15 / len(CATEGORY_NAMES)
    cat = pick_index(cumulative(cat_p)[seg], rng.random(n))
    sub_p = np.array(
        [[w * (c == ci) for ci, _, w in SUBCATEGORIES] for c in range(len(CATEGORIES))]
    )
    sub = pick_index(cumulative(sub_p)[cat], rng.random(n))
    return seg, cat, sub


def _looks(
    rng: np.random.Generator, seg: np.ndarray, sub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Designer, material, colour and three tag indices, mostly from the segment's palette."""
    n = len(seg)
    segs = list(SEGMENTS.values())
    des_p = np.array(
        [[0.85 / len(s.designers) * (d in s.designers) for d in DESIGNERS] for s in segs]
    )
    designer = DESIGNERS[pick_index(cumulative(des_p + 0.15 / len(DESIGNERS))[seg], rng.random(n))]
    row = seg * len(SUBCATEGORIES) + sub
    allowed = [
        (SUB_MATERIALS.get(name) or CATEGORIES[ci].materials) for ci, name, _ in SUBCATEGORIES
    ]
    mat_cum = palette_distributions(
        MATERIALS, [(s.materials, a) for s in segs for a in allowed], 0.8
    )
    material = np.array(MATERIALS, dtype=object)[pick_index(mat_cum[row], rng.random(n))]
    col_allowed = [CATEGORIES[ci].colors or PALETTE_COLORS for ci, _, _ in SUBCATEGORIES]
    col_cum = palette_distributions(COLORS, [(s.colors, a) for s in segs for a in col_allowed], 0.8)
    color = np.array(COLORS, dtype=object)[pick_index(col_cum[row], rng.random(n))]
    tag_cum = palette_distributions(TAGS, [(s.tags, TAGS) for s in segs], 0.8)
    tag_i = pick_index(np.repeat(tag_cum[seg], 3, axis=0), rng.random(3 * n)).reshape(n, 3)
    return designer, material, color, tag_i


def _launches(
    rng: np.random.Generator, n: int, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Launch day (relative to ``as_of``), collection code and new-arrival flag.

    Collections are the last five seasons; the new arrivals launched in the
    last 30 days.
    """
    last_launch = as_of - pd.Timedelta(days=COLD_PRODUCT_DAYS + 1)
    starts = [
        s
        for y in range(as_of.year - 3, as_of.year + 1)
        for m in (1, 7)
        if (s := pd.Timestamp(year=y, month=m, day=15)) <= last_launch
    ][-len(SEASON_WEIGHTS) :]
    season = pick_index(cumulative(np.array(SEASON_WEIGHTS[-len(starts) :])), rng.random(n))
    start_days = np.array([(s - as_of).days for s in starts])
    launch_rel = np.minimum(start_days[season] + rng.integers(0, 100, n), -(COLD_PRODUCT_DAYS + 1))
    collection = np.array([season_code(s) for s in starts], dtype=object)[season]
    cold = np.zeros(n, dtype=bool)
    cold[rng.permutation(n)[: max(1, round(COLD_PRODUCT_SHARE * n))]] = True
    launch_rel[cold] = -rng.integers(1, COLD_PRODUCT_DAYS + 1, cold.sum())
    collection[cold] = [season_code(as_of + pd.Timedelta(days=int(d))) for d in launch_rel[cold]]
    return launch_rel, collection, cold


def _prices(
    rng: np.random.Generator,
    seg: np.ndarray,
    cat: np.ndarray,
    material: np.ndarray,
    launch_rel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Price (segment level x category median x material, with noise) and markdown flag."""
    n = len(seg)
    level = np.array([s.price_level for s in SEGMENTS.values()])[seg]
    factor = np.array([PRICE_FACTOR.get(m, 1.0) for m in material])
    medians = np.array([c.median_price for c in CATEGORIES])[cat]
    markdown = (launch_rel < -300) & (rng.random(n) < 0.1)
    noise = rng.lognormal(0.0, 0.3, n)
    price = nice_price(medians * level * factor * noise * np.where(markdown, 0.7, 1.0))
    return price, markdown


def _flags(
    rng: np.random.Generator, seg: np.ndarray, material: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sustainable (likely for sustainable materials) and limited edition (likelier when collectible)."""
    n = len(seg)
    sust_rate = np.array([s.sustainable_rate for s in SEGMENTS.values()])[seg]
    sust_material = np.isin(material, list(SUSTAINABLE_MATERIALS))
    sustainable = rng.random(n) < np.where(sust_material, 0.85, sust_rate)
    collectible = np.isin(seg, [SEGMENT_NAMES.index(x) for x in ("runway", "jewellery_collector")])
    limited = rng.random(n) < np.where(collectible, 0.08, 0.03)
    return sustainable, limited


def _warmth(cat: np.ndarray, material: np.ndarray, subcat: np.ndarray) -> np.ndarray:
    """Warmth of clothing ("light", "medium", "heavy"); empty for other categories."""
    warmth = np.full(len(cat), "", dtype=object)
    rtw = cat == CATEGORY_NAMES.index("ready-to-wear")
    outer = cat == CATEGORY_NAMES.index("outerwear")
    knit = np.isin(material, list(WARM_MATERIALS)) | np.isin(subcat, ["knit sweater", "cardigan"])
    warmth[rtw] = np.where(knit[rtw], "medium", "light")
    heavy = np.isin(subcat, list(HEAVY_SUBCATEGORIES)) | np.isin(material, ["shearling", "down"])
    warmth[outer] = np.where(heavy[outer], "heavy", "medium")
    return warmth


def _descriptions(
    tag_i: np.ndarray,
    frag: np.ndarray,
    material: np.ndarray,
    subcat: np.ndarray,
    color: np.ndarray,
    designer: np.ndarray,
    collection: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Style tags (``|``-joined, without repeats) and a one-sentence description."""
    tags, description = [], []
    for i in range(len(tag_i)):
        t = list(dict.fromkeys(TAGS_ARRAY[tag_i[i]]))
        tags.append("|".join(t))
        what = f"{material[i]} {subcat[i]}" if frag[i] else f"{color[i]} {material[i]} {subcat[i]}"
        if subcat[i] in PLURAL:
            what = what[0].upper() + what[1:]
        else:
            what = f"{article(what).capitalize()} {what}"
        description.append(
            f"{what} by {designer[i]} from the {collection[i]} collection, "
            f"in {article(t[0])} {' and '.join(t[:2])} mood."
        )
    return np.array(tags, dtype=object), np.array(description, dtype=object)


def _size_runs(cat: np.ndarray, subcat: np.ndarray) -> np.ndarray:
    """Each product's size run as ``|``-separated text ('' for unsized products)."""
    names = np.array(CATEGORY_NAMES, dtype=object)[cat]
    return np.array(
        [join_list(size_run(c, s)) for c, s in zip(names, subcat, strict=True)], dtype=object
    )
