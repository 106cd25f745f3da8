"""Outcomes: did shared suggestions sell, were they accepted, and is there lift?

Measured, not claimed:

* **Attribution** — a shared item converts when the client buys it, or a close
  variant (same designer and subcategory), within ``window_days`` after the share.
* **Acceptance** — of the model's suggestions put on lists, how many associates
  kept vs removed, per reason type, per removal reason and per associate.
* **Holdout** — a fixed, hash-assigned share of clients gets generic suggestions
  instead of model ones; conversion of both groups with Wilson intervals and
  the difference with a Newcombe interval.

Everything here is a pure function of DataFrames, so it runs the same on the
database's shares and on a notebook's export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from core.engine.purchases import purchase_returns

DEFAULT_WINDOW_DAYS = 14


# ------------------------------------------------------------- intervals
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (well behaved at 0 and small n)."""
    if n <= 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(
    s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval of p1 - p2 from the two Wilson intervals (Newcombe's method 10)."""
    if n1 <= 0 or n2 <= 0:
        return (-1.0, 1.0)
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson_interval(s1, n1, confidence)
    l2, u2 = wilson_interval(s2, n2, confidence)
    d = p1 - p2
    lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (float(lo), float(hi))


# ------------------------------------------------------------- attribution
def _purchases(events: pd.DataFrame) -> pd.DataFrame:
    p = events[events["event_type"] == "purchase"]
    return p[["client_id", "product_id", "timestamp"]]


def attribute_shares(
    shared_items: pd.DataFrame,
    events: pd.DataFrame,
    products: pd.DataFrame,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    variants: bool = True,
) -> pd.DataFrame:
    """Which shared items the client then bought within the window.

    Parameters
    ----------
    shared_items : DataFrame
        One row per shared product: ``share_id``, ``client_id``, ``product_id``,
        ``shared_at`` (timestamp).
    events : DataFrame
        The events table (purchases are used).
    products : DataFrame
        The products table (for close variants).
    window_days : int
        A purchase counts when ``shared_at <= timestamp <= shared_at + window``.
    variants : bool
        Also count a purchase of a close variant (same designer and subcategory).

    Returns
    -------
    DataFrame
        ``shared_items`` plus ``converted`` (bool), ``match`` ("exact",
        "variant" or ""), ``converted_at``.
    """
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0, got {window_days}")
    items = shared_items.copy()
    items["shared_at"] = pd.to_datetime(items["shared_at"]).dt.tz_localize(None)
    items["converted"] = False
    items["match"] = ""
    items["converted_at"] = pd.NaT
    if items.empty:
        return items
    buys = _purchases(events)
    window = pd.Timedelta(days=window_days)
    exact = _first_purchase_within(
        ["client_id", "product_id"], items[["client_id", "product_id", "shared_at"]], buys, window
    )
    _mark(items, exact, "exact")
    if variants:
        fam = products.set_index("product_id")
        family = (fam["designer"].astype(str) + "|" + fam["subcategory"].astype(str)).to_dict()
        left = items.loc[~items["converted"], ["client_id", "product_id", "shared_at"]].copy()
        left["family"] = left["product_id"].map(family)
        right = buys.assign(family=buys["product_id"].map(family)).rename(
            columns={"product_id": "bought_id"}
        )
        _mark(
            items, _first_purchase_within(["client_id", "family"], left, right, window), "variant"
        )
    return items


def _first_purchase_within(
    on: list[str], left: pd.DataFrame, right: pd.DataFrame, window: pd.Timedelta
) -> pd.Series:
    """Per row of ``left``, the first purchase in ``right`` matching ``on`` within the window."""
    m = left.reset_index().merge(right, on=on, how="inner")
    m = m[(m["timestamp"] >= m["shared_at"]) & (m["timestamp"] <= m["shared_at"] + window)]
    return m.groupby("index")["timestamp"].min()


def _mark(items: pd.DataFrame, found: pd.Series, match: str) -> None:
    items.loc[found.index, "converted"] = True
    items.loc[found.index, "match"] = match
    items.loc[found.index, "converted_at"] = found.to_numpy()


def conversion_summary(attributed: pd.DataFrame) -> dict[str, Any]:
    """Share-level and item-level conversion with Wilson intervals."""
    n_items = len(attributed)
    s_items = int(attributed["converted"].sum()) if n_items else 0
    by_share = (
        attributed.groupby("share_id")["converted"].any() if n_items else pd.Series(dtype=bool)
    )
    n_sh, s_sh = len(by_share), int(by_share.sum())
    return {
        "items": n_items,
        "items_converted": s_items,
        "item_rate": s_items / n_items if n_items else 0.0,
        "item_ci": wilson_interval(s_items, n_items),
        "shares": n_sh,
        "shares_converted": s_sh,
        "share_rate": s_sh / n_sh if n_sh else 0.0,
        "share_ci": wilson_interval(s_sh, n_sh),
    }


# ------------------------------------------------------------------- returns
#: Columns of :func:`return_rates`.
RETURN_COLUMNS: tuple[str, ...] = (
    "purchases",
    "bought",
    "returned",
    "return_rate",
    "return_ci",
    "returned_for_fit",
    "fit_return_rate",
)


def return_rates(
    attributed: pd.DataFrame,
    events: pd.DataFrame,
    *,
    house: tuple[int, int, int] | None = None,
) -> pd.DataFrame:
    """How often purchases of shared suggestions come back, against every other purchase.

    A purchase is *of a suggestion* when it converted a shared item exactly
    (:func:`attribute_shares`, ``match == "exact"``: same client, product and
    time). A purchase counts as returned when the client returned that
    product after it; ``returned_for_fit`` when that return's ``reason`` is
    ``fit`` (events without a ``reason`` column have none)
    (:func:`core.engine.purchases.purchase_returns`).

    Parameters
    ----------
    house : (purchases, returned, returned for fit), optional
        The whole house's counts when ``events`` holds only the contacted
        clients' events (serving without the event log:
        :attr:`core.engine.house.HouseAggregates.purchase_returns`); other
        purchases are then the house's less the suggested ones.

    Returns
    -------
    DataFrame
        Two rows (``purchases``: "suggested, then bought", "other purchases")
        and the columns of :data:`RETURN_COLUMNS`; rates with a Wilson interval.
    """
    flagged = purchase_returns(events)
    exact = attributed[attributed["converted"] & (attributed["match"] == "exact")]
    keys = set(
        zip(
            exact["client_id"],
            exact["product_id"],
            pd.to_datetime(exact["converted_at"]),
            strict=True,
        )
    )
    suggested = np.array(
        [
            k in keys
            for k in zip(
                flagged["client_id"], flagged["product_id"], flagged["timestamp"], strict=True
            )
        ],
        dtype=bool,
    )
    ret, fit = flagged["returned"].to_numpy(), flagged["returned_for_fit"].to_numpy()
    counts = [
        (int(sel.sum()), int(ret[sel].sum()), int(fit[sel].sum()))
        for sel in (suggested, ~suggested)
    ]
    if house is not None:
        counts[1] = (house[0] - counts[0][0], house[1] - counts[0][1], house[2] - counts[0][2])
    rows = []
    for label, (n, r, f) in zip(("suggested, then bought", "other purchases"), counts, strict=True):
        rows.append(
            {
                "purchases": label,
                "bought": n,
                "returned": r,
                "return_rate": r / n if n else 0.0,
                "return_ci": wilson_interval(r, n),
                "returned_for_fit": f,
                "fit_return_rate": f / n if n else 0.0,
            }
        )
    return pd.DataFrame(rows, columns=list(RETURN_COLUMNS))


# ---------------------------------------------------------------- acceptance
def acceptance(suggested: pd.DataFrame, by: str) -> pd.DataFrame:
    """Kept vs removed suggestions grouped by ``by``.

    Parameters
    ----------
    suggested : DataFrame
        One row per model suggestion an associate acted on: at least ``kept``
        (bool) and the column ``by`` (e.g. ``reason_type``, ``removal_reason``,
        ``associate_id``).

    Returns
    -------
    DataFrame
        ``by``, ``suggested``, ``kept``, ``removed``, ``acceptance`` and its
        Wilson interval (``ci_low``, ``ci_high``), most suggested first.
    """
    if by not in suggested.columns:
        raise ValueError(f"no column {by!r} to group acceptance by; have {list(suggested.columns)}")
    g = suggested.groupby(by, dropna=False)["kept"].agg(["count", "sum"])
    rows = []
    for key, (n, s) in g.iterrows():
        lo, hi = wilson_interval(int(s), int(n))
        rows.append(
            {
                by: key,
                "suggested": int(n),
                "kept": int(s),
                "removed": int(n - s),
                "acceptance": s / n if n else 0.0,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    out = pd.DataFrame(
        rows, columns=[by, "suggested", "kept", "removed", "acceptance", "ci_low", "ci_high"]
    )
    return out.sort_values(["suggested", by], ascending=[False, True]).reset_index(drop=True)


# ------------------------------------------------------------------- lift
@dataclass(frozen=True)
class LiftReport:
    """Conversion of model vs holdout clients over a window, with intervals."""

    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    model_clients: int
    model_buyers: int
    holdout_clients: int
    holdout_buyers: int
    model_rate: float
    holdout_rate: float
    model_ci: tuple[float, float]
    holdout_ci: tuple[float, float]
    difference: float
    difference_ci: tuple[float, float]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "group": "model suggestions",
                    "clients": self.model_clients,
                    "buyers": self.model_buyers,
                    "conversion": self.model_rate,
                    "ci_low": self.model_ci[0],
                    "ci_high": self.model_ci[1],
                },
                {
                    "group": "holdout (generic)",
                    "clients": self.holdout_clients,
                    "buyers": self.holdout_buyers,
                    "conversion": self.holdout_rate,
                    "ci_low": self.holdout_ci[0],
                    "ci_high": self.holdout_ci[1],
                },
            ]
        )


def holdout_lift(
    contacted: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> LiftReport:
    """Conversion after contact for model vs holdout clients.

    Parameters
    ----------
    contacted : DataFrame
        One row per contacted client: ``client_id``, ``contacted_at``, ``holdout`` (bool).
    events : DataFrame
        Purchases within ``window_days`` after ``contacted_at`` count as conversion.
    """
    c = contacted.copy()
    c["contacted_at"] = pd.to_datetime(c["contacted_at"]).dt.tz_localize(None)
    buys = _purchases(events)
    m = c.merge(buys, on="client_id", how="left")
    window = pd.Timedelta(days=window_days)
    m["hit"] = (m["timestamp"] >= m["contacted_at"]) & (
        m["timestamp"] <= m["contacted_at"] + window
    )
    per_client = m.groupby(["client_id", "holdout"])["hit"].any().reset_index()
    model = per_client[~per_client["holdout"]]
    hold = per_client[per_client["holdout"]]
    n1, s1 = len(model), int(model["hit"].sum())
    n2, s2 = len(hold), int(hold["hit"].sum())
    start = pd.Timestamp(c["contacted_at"].min()) if len(c) else None
    end = pd.Timestamp(c["contacted_at"].max()) + window if len(c) else None
    return LiftReport(
        window_start=start,
        window_end=end,
        model_clients=n1,
        model_buyers=s1,
        holdout_clients=n2,
        holdout_buyers=s2,
        model_rate=s1 / n1 if n1 else 0.0,
        holdout_rate=s2 / n2 if n2 else 0.0,
        model_ci=wilson_interval(s1, n1),
        holdout_ci=wilson_interval(s2, n2),
        difference=(s1 / n1 if n1 else 0.0) - (s2 / n2 if n2 else 0.0),
        difference_ci=newcombe_interval(s1, n1, s2, n2),
    )
