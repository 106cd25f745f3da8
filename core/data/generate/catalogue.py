"""The catalogue stage: products, stores, stock and staff, and what clients and events need from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from core.data.generate.draws import cumulative, weights_over
from core.data.generate.geography import REGIONS, STORES
from core.data.generate.parameters import BUCKET_DAYS, CATALOGUE_STREAM, N_BUCKETS, WINDOW_DAYS
from core.data.generate.products import draw_products
from core.data.generate.segments import SEGMENT_NAMES, SEGMENTS
from core.data.generate.stores import staff_table, stock_table, stores_table
from core.data.generate.tables import arrow_table, epoch_seconds
from core.data.generate.vocabulary import (
    CATEGORY_NAMES,
    DESIGNERS,
    FRAGRANCE_NOTES,
    MATERIALS,
    PALETTE_COLORS,
)
from core.data.schema import ONLINE_STORE_ID


@dataclass(frozen=True)
class Catalogue:
    """Everything clients and events need from the catalogue, stores and staff."""

    tables: dict[str, pa.Table]
    product_segments: pa.Table
    product_ids: pa.Array
    product_id_labels: np.ndarray  # the same, as an object array
    price: np.ndarray
    launch_day: np.ndarray  # days after the window start (may be negative)
    sized: np.ndarray  # products that come in sizes
    next_step: np.ndarray  # an entry piece's signature piece (position), -1 for the rest
    heavy: np.ndarray
    light: np.ndarray
    choice_keys: np.ndarray  # (bucket, segment) blocks of cumulative product weights
    seg_order: np.ndarray  # products sorted by segment (the order inside a block)
    seg_start: np.ndarray  # (S + 1,) offsets into seg_order
    price_band: np.ndarray  # (S, 2) 10th and 90th percentile price per segment
    pref_labels: dict[str, np.ndarray]
    pref_matrix: dict[str, np.ndarray]  # (S, labels) taste weights per segment
    store_ids: pa.Array
    store_share: np.ndarray
    store_climate: np.ndarray  # index into ("warm", "temperate", "cold")
    store_segments: np.ndarray  # (stores, S) cumulative primary-segment distribution
    store_regions: np.ndarray  # (stores, regions) cumulative name-region distribution
    store_phone: tuple[str, ...]
    physical: np.ndarray  # indices of the physical stores
    online: int
    staff_ids: pa.Array
    staff_start: np.ndarray  # (stores + 1,) offsets into staff_pool
    staff_pool: np.ndarray  # associate and stylist rows, grouped by store
    stylist: np.ndarray  # store -> stylist row (-1 online)
    start_seconds: int  # the window start, in epoch seconds


def choice_keys(
    rng: np.random.Generator, seg: np.ndarray, launch_day: np.ndarray, cold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The product-choice table.

    For each 30-day bucket and segment, the cumulative weights (popularity x
    lifecycle, zero before launch) of the segment's products, laid end to end:
    block ``bucket * S + segment`` spans ``(block, block + 1]``, so one
    ``searchsorted`` of ``block + u`` draws a product for every event.
    Returns the keys, the product order inside a block and segment offsets.
    """
    n_seg = len(SEGMENTS)
    # New arrivals start with a launch buzz well below an established product.
    pop = rng.lognormal(0.0, 1.0, len(seg)) * np.where(cold, 0.4, 1.0)
    b = np.arange(N_BUCKETS)[:, None]
    age = b * BUCKET_DAYS + BUCKET_DAYS // 2 - launch_day[None, :]
    life = np.select([age < 0, age < 120, age < 365], [0.8, 1.6, 1.0], 0.55)
    launched = launch_day[None, :] < np.minimum((b + 1) * BUCKET_DAYS, WINDOW_DAYS)
    order = np.argsort(seg, kind="stable")
    seg_sorted = seg[order]
    start = np.searchsorted(seg_sorted, np.arange(n_seg + 1))
    w = (pop * life * launched)[:, order]
    totals = np.add.reduceat(w, start[:-1], axis=1)  # (buckets, S)
    for s in range(n_seg):  # a segment with nothing launched yet borrows a later bucket
        for bi in range(N_BUCKETS - 2, -1, -1):
            if totals[bi, s] <= 0:
                w[bi, start[s] : start[s + 1]] = w[bi + 1, start[s] : start[s + 1]]
                totals[bi, s] = totals[bi + 1, s]
    cs = np.cumsum(w, axis=1)
    before = np.concatenate([np.zeros((N_BUCKETS, 1)), cs], axis=1)[:, start[:-1]]
    within = (cs - before[:, seg_sorted]) / totals[:, seg_sorted]
    within[:, start[1:] - 1] = 1.0
    return ((b * n_seg + seg_sorted[None, :]) + within).reshape(-1), order, start


def next_steps(seg: np.ndarray, price: np.ndarray) -> np.ndarray:
    """The planted progression: each entry piece's signature piece, by position (-1: none).

    In each segment, the cheapest quarter of the products are entry pieces
    and the dearest quarter signature pieces; the ``r``-th cheapest entry
    piece leads to the ``r``-th cheapest signature piece.
    """
    out = np.full(len(seg), -1, dtype=np.int64)
    for s in np.unique(seg):
        members = np.flatnonzero(seg == s)
        ranked = members[np.argsort(price[members], kind="stable")]
        quarter = len(ranked) // 4
        if quarter:
            out[ranked[:quarter]] = ranked[-quarter:]
    return out


def next_steps_table(cat: Catalogue) -> pd.DataFrame:
    """The planted progression as ids: ``product_id`` (entry piece), ``next_product_id``."""
    entry = np.flatnonzero(cat.next_step >= 0)
    ids = cat.product_id_labels
    return pd.DataFrame({"product_id": ids[entry], "next_product_id": ids[cat.next_step[entry]]})


def build_catalogue(n_products: int, seed: int, as_of: pd.Timestamp) -> Catalogue:
    """The catalogue stage: products, stores, stock and staff, from the catalogue streams of ``seed``."""
    # One stream per part, so that staff (say) do not change with the catalogue size.
    rng = [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CATALOGUE_STREAM, part)))
        for part in range(4)
    ]
    segs = list(SEGMENTS.values())
    p = draw_products(rng[0], n_products, as_of)
    products = arrow_table("products", {k: v for k, v in p.items() if not k.startswith("_")})
    seg, price = p["_segment"], p["price"]
    stores = stores_table()
    store_ids = stores.column("store_id").combine_chunks()
    online = [s[0] for s in STORES].index(ONLINE_STORE_ID)
    stock = stock_table(rng[1], p)
    associates, staff_start, staff_pool, stylist = staff_table(rng[2], store_ids, online)
    launch_day = p["_launch_rel"] + WINDOW_DAYS
    keys, order, seg_start = choice_keys(rng[3], seg, launch_day, p["_cold"])
    pref_labels, pref_matrix = _preferences()
    affinity = np.array([weights_over(s[9], SEGMENT_NAMES) for s in STORES])
    affinity[affinity == 0] = 1.0
    shares = np.array([s.share for s in segs])
    return Catalogue(
        tables={"products": products, "stores": stores, "stock": stock, "associates": associates},
        product_segments=arrow_table(
            "product_segments",
            {
                "product_id": p["product_id"],
                "segment": np.array(SEGMENT_NAMES, dtype=object)[seg],
            },
        ),
        product_ids=products.column("product_id").combine_chunks(),
        product_id_labels=p["product_id"],
        price=price,
        launch_day=launch_day,
        sized=p["sizes"] != "",
        next_step=next_steps(seg, price),
        heavy=p["warmth"] == "heavy",
        light=p["warmth"] == "light",
        choice_keys=keys,
        seg_order=order,
        seg_start=seg_start,
        price_band=np.array([np.percentile(price[seg == s], [10, 90]) for s in range(len(segs))]),
        pref_labels=pref_labels,
        pref_matrix=pref_matrix,
        store_ids=store_ids,
        store_share=np.array([s[6] for s in STORES]),
        store_climate=np.array([("warm", "temperate", "cold").index(s[4]) for s in STORES]),
        store_segments=cumulative(shares * affinity),
        store_regions=cumulative(np.array([weights_over(s[8], REGIONS) for s in STORES])),
        store_phone=tuple(s[5] for s in STORES),
        physical=np.array([i for i in range(len(STORES)) if i != online]),
        online=online,
        staff_ids=associates.column("user_id").combine_chunks(),
        staff_start=staff_start,
        staff_pool=staff_pool,
        stylist=stylist,
        start_seconds=epoch_seconds(as_of - pd.Timedelta(days=WINDOW_DAYS)),
    )


def _preferences() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What clients can declare (labels per field) and each segment's taste over them."""
    segs = list(SEGMENTS.values())
    materials = np.array([m for m in MATERIALS if m not in FRAGRANCE_NOTES], dtype=object)
    cat_w = np.array([weights_over(s.categories, CATEGORY_NAMES) for s in segs])
    pref_labels = {
        "designers": DESIGNERS,
        "categories": np.array(CATEGORY_NAMES, dtype=object),
        "colors": np.array(PALETTE_COLORS, dtype=object),
        "materials": materials,
    }
    pref_matrix = {
        "designers": np.array([[1.0 * (d in s.designers) for d in DESIGNERS] for s in segs]),
        "categories": cat_w / cat_w.sum(1, keepdims=True),
        "colors": np.array([[1.0 * (c in s.colors) for c in PALETTE_COLORS] for s in segs]),
        "materials": np.array([[1.0 * (m in s.materials) for m in materials] for s in segs]),
    }
    return pref_labels, pref_matrix


def choose(cat: Catalogue, block: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Product drawn within each (bucket, segment) block, in proportion to its weight."""
    idx = np.searchsorted(cat.choice_keys, block + u, side="right")
    n = len(cat.seg_order)
    return np.asarray(cat.seg_order[np.minimum(idx, len(cat.choice_keys) - 1) % n])
