"""The boutiques' tables: stores, stock per product and store, and the staff."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from core.data.generate.draws import cumulative, pick_index, pool_pick, weights_over
from core.data.generate.geography import FIRST_NAMES, FOLDED, LAST_NAMES, REGIONS, STORES
from core.data.generate.tables import arrow_table
from core.data.generate.vocabulary import CATEGORIES, SIZE_RUNS
from core.data.schema import ONLINE_STORE_ID
from core.data.sizes import client_size_column


def stores_table() -> pa.Table:
    """The boutiques of :data:`~core.data.generate.geography.STORES`, online included."""
    return arrow_table(
        "stores",
        {
            "store_id": [s[0] for s in STORES],
            "name": [s[1] for s in STORES],
            "city": [s[2] for s in STORES],
            "country": [s[3] for s in STORES],
            "climate": [s[4] for s in STORES],
            "online": [s[0] == ONLINE_STORE_ID for s in STORES],
        },
    )


def stock_table(rng: np.random.Generator, p: dict[str, np.ndarray]) -> pa.Table:
    """A row per (product, store); some pairs, and a few products, out of stock."""
    n, n_st = len(p["product_id"]), len(STORES)
    cold, limited = p["_cold"], p["limited_edition"]
    mean = np.array([c.stock_mean for c in CATEGORIES])[p["_category"]][:, None] * np.array(
        [s[7] for s in STORES]
    )
    warm = np.array([s[4] == "warm" for s in STORES])
    mean[np.ix_(p["warmth"] == "heavy", warm)] *= 0.3  # few heavy coats in warm cities
    qty = rng.poisson(mean)
    qty[rng.random((n, n_st)) < np.where(cold, 0.03, np.where(limited, 0.35, 0.12))[:, None]] = 0
    qty[(rng.random(n) < 0.03) & ~cold] = 0
    product_ids = np.repeat(p["product_id"], n_st)
    store_ids = np.tile(np.array([s[0] for s in STORES], dtype=object), n)
    rows = {"product_id": product_ids, "store_id": store_ids, "quantity": qty.reshape(-1)}
    rows = _per_size(rng, rows, np.repeat(p["category"], n_st), np.repeat(p["subcategory"], n_st))
    return arrow_table("stock", {**rows, "quantity": rows["quantity"].astype(np.int64)})


def _per_size(
    rng: np.random.Generator,
    rows: dict[str, np.ndarray],
    category: np.ndarray,
    subcategory: np.ndarray,
) -> dict[str, np.ndarray]:
    """Split the units of sized products over their size run (a row per size; totals kept).

    Units go to sizes as often as clients wear them, so a store with few
    units lacks some sizes while the online store, deeper, has most.
    Unsized products keep one row with an empty size. Drawn after the
    whole-product quantities, so those are the same as without sizes.
    """
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (*rows, "size")}
    kinds = {(c, s) for c, s in zip(category, subcategory, strict=True)}
    for c, s in sorted(kinds):
        at = np.flatnonzero((category == c) & (subcategory == s))
        column = client_size_column(c, s)
        if column not in SIZE_RUNS:
            for k in rows:
                parts[k].append(rows[k][at])
            parts["size"].append(np.full(at.size, "", dtype=object))
            continue
        labels, wear = SIZE_RUNS[column]
        share = np.array(wear) / np.sum(wear)
        split = rng.multinomial(rows["quantity"][at], share)
        for k in ("product_id", "store_id"):
            parts[k].append(np.repeat(rows[k][at], len(labels)))
        parts["quantity"].append(split.reshape(-1))
        parts["size"].append(np.tile(np.array(labels, dtype=object), at.size))
    order = np.argsort(np.concatenate(parts["product_id"]), kind="stable")
    return {k: np.concatenate(v)[order] for k, v in parts.items()}


def staff_table(
    rng: np.random.Generator, store_ids: pa.Array, online: int
) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """Per boutique 2-4 associates and one stylist; three managers; two admins.

    Returns the table, the offsets of each store's associates and stylist in
    the pool, the pool (rows of the table) and each store's stylist row.
    """
    n_st = len(STORES)
    role: list[str] = []
    where: list[int] = []
    pool: list[int] = []
    stylist = np.full(n_st, -1)
    start = np.zeros(n_st + 1, dtype=int)
    for i in range(n_st):
        start[i] = len(pool)
        if i == online:
            continue
        for r in ["associate"] * int(rng.integers(2, 5)) + ["stylist"]:
            pool.append(len(role))
            if r == "stylist":
                stylist[i] = len(role)
            role.append(r)
            where.append(i)
    start[n_st] = len(pool)
    role += ["manager"] * 3 + ["admin"] * 2
    where += [0, 3, 5, -1, -1]  # regional managers in Paris, New York, Dubai; admins at head office
    region_cum = cumulative(np.array([weights_over(s[8], REGIONS) for s in STORES]))
    ws = np.array(where)
    region = pick_index(region_cum[np.maximum(ws, 0)], rng.random(len(role)))
    u = rng.random((len(role), 2))
    first = pool_pick(FIRST_NAMES, region, u[:, 0])
    last = pool_pick(LAST_NAMES, region, u[:, 1])
    emails: list[str] = []
    for a, b in zip(first, last, strict=True):
        local = f"{FOLDED[a]}.{FOLDED[b]}"
        taken = sum(e.startswith(local + "@") or e.startswith(local + "-") for e in emails)
        emails.append(f"{local}{f'-{taken + 1}' if taken else ''}@atelier.example")
    table = arrow_table(
        "associates",
        {
            "user_id": np.array([f"u{i + 1:04d}" for i in range(len(role))], dtype=object),
            "name": first + " " + last,
            "role": role,
            "store_id": store_ids.take(pa.array(ws, mask=ws < 0)),
            "email": emails,
        },
    )
    return table, start, np.array(pool), stylist
