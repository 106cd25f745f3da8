"""Everything the Trends page shows, built in one call from a fitted :class:`TrendAnalyzer`.

The page stays thin: it picks the filters (store, time window, momentum
windows) and draws what :func:`build_trend_view` returns. Every frame is about
products and clusters; no client column ever appears (:data:`FORBIDDEN_COLUMNS`
is checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.app.lookbook import format_price
from core.engine.trends import TrendAnalyzer

#: Time windows offered for demand and gaps (label -> days; ``None`` = all history).
WINDOWS: dict[str, int | None] = {
    "Last 4 weeks": 28,
    "Last 12 weeks": 84,
    "Last 26 weeks": 182,
    "Last 52 weeks": 364,
    "All history": None,
}
#: Columns that would carry client data; none may reach the page.
FORBIDDEN_COLUMNS: frozenset[str] = frozenset(
    {"client_id", "first_name", "last_name", "email", "phone", "assigned_associate_id"}
)
TOO_FEW = "too few events"


@dataclass(frozen=True)
class TrendView:
    """The Trends page's data (aggregates over products only).

    Attributes
    ----------
    clusters : DataFrame
        :meth:`TrendAnalyzer.clusters`, one row per cluster, plus ``price_band``
        (:func:`cluster_price_bands`: in the cluster's currency, one band per
        currency when it mixes them).
    momentum : DataFrame
        :meth:`TrendAnalyzer.momentum` plus ``change_label`` (a percentage, or
        "too few events" under the small-count guard).
    weekly : DataFrame
        :meth:`TrendAnalyzer.weekly_series` (long format) plus ``rising``.
    gaps : DataFrame
        :meth:`TrendAnalyzer.gaps` for the chosen store and window.
    rising : DataFrame
        :meth:`TrendAnalyzer.rising_products` plus ``cluster_name`` and ``change_label``.
    product_map : DataFrame
        :meth:`TrendAnalyzer.product_map` (2-D coordinates and hover details).
    store_id : str or None
    since : Timestamp or None
        Start of the demand window of ``gaps`` (``None``: all history).
    recent_days, earlier_days : int
        Momentum windows.
    as_of : Timestamp
    currencies : tuple of str
        The currencies the catalogue is priced in (more than one: prices are mixed).
    """

    clusters: pd.DataFrame
    momentum: pd.DataFrame
    weekly: pd.DataFrame
    gaps: pd.DataFrame
    rising: pd.DataFrame
    product_map: pd.DataFrame
    store_id: str | None
    since: pd.Timestamp | None
    recent_days: int
    earlier_days: int
    as_of: pd.Timestamp
    currencies: tuple[str, ...] = ("EUR",)

    @property
    def mixed_currencies(self) -> bool:
        """Whether the catalogue's prices are in more than one currency."""
        return len(self.currencies) > 1

    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            "clusters": self.clusters,
            "momentum": self.momentum,
            "weekly": self.weekly,
            "gaps": self.gaps,
            "rising": self.rising,
            "product_map": self.product_map,
        }


#: From this multiple of the earlier rate, a change reads as a multiple (:func:`change_label`).
MULTIPLE_FROM = 5.0


def change_label(
    change_pct: Any, enough_data: object, recent: Any = None, earlier: Any = None
) -> str:
    """How a momentum row reads: ``"+35%"``, ``"−12%"``, ``"×12"``, ``"new demand"`` or ``"too few events"``.

    The small-count guard: no percentage unless the row had enough events.
    From five times the earlier daily rate up, the multiple is shown instead of
    the percentage ("×111" rather than "+11000%", which nobody reads at a glance).
    """
    if not bool(enough_data):
        return TOO_FEW
    try:
        value = float(change_pct)
    except (TypeError, ValueError):
        value = float("nan")
    if math.isnan(value):
        if recent is not None and earlier is not None and float(earlier) == 0 and float(recent) > 0:
            return "new demand"
        return "n/a"
    if value >= (MULTIPLE_FROM - 1) * 100:
        return f"×{1 + value / 100:.0f}"
    sign = "+" if value >= 0 else "−"
    return f"{sign}{abs(value):.0f}%"


def price_band(prices: pd.Series, currency: str) -> str:
    """The middle half of ``prices`` as text: ``"£2–£5 (median £3)"``, in ``currency``."""
    low, median, high = (
        format_price(prices.quantile(q), currency) or "–" for q in (0.25, 0.5, 0.75)
    )
    return f"{low}–{high} (median {median})"


def cluster_price_bands(product_map: pd.DataFrame) -> dict[int, str]:
    """Each cluster's price band in its products' currency.

    A cluster priced in several currencies gets one band per currency (most
    products first), after ``"mixed currencies (EUR, GBP): "``: amounts in
    different currencies are never put in one band.

    Parameters
    ----------
    product_map : DataFrame
        :meth:`TrendAnalyzer.product_map` (``cluster``, ``price``, ``currency``).
    """
    out: dict[int, str] = {}
    for _, part in product_map.groupby("cluster", sort=True):
        by_currency = part.groupby("currency", sort=True)["price"]
        order = by_currency.size().sort_values(ascending=False, kind="stable").index
        bands = [price_band(by_currency.get_group(c), str(c)) for c in order]
        prefix = f"mixed currencies ({', '.join(map(str, order))}): " if len(bands) > 1 else ""
        out[int(part["cluster"].iloc[0])] = prefix + "; ".join(bands)
    return out


def _labels(frame: pd.DataFrame) -> list[str]:
    return [
        change_label(r.change_pct, r.enough_data, r.recent, r.earlier)
        for r in frame[["change_pct", "enough_data", "recent", "earlier"]].itertuples()
    ]


def _momentum_frames(
    analyzer: TrendAnalyzer, recent: int, earlier: int, weeks: int, n_rising: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Momentum per cluster, the weekly series and the rising products, labelled."""
    momentum = analyzer.momentum(recent_days=recent, earlier_days=earlier)
    momentum["change_label"] = _labels(momentum)
    rising_ids = set(momentum.loc[momentum["rising"], "cluster"].astype(int))
    weekly = analyzer.weekly_series(weeks=weeks)
    weekly["rising"] = weekly["cluster"].isin(rising_ids)
    rising = analyzer.rising_products(n=n_rising, recent_days=recent, earlier_days=earlier)
    rising["cluster_name"] = rising["cluster"].map(dict(enumerate(analyzer.names_)))
    rising["change_label"] = _labels(rising) if len(rising) else pd.Series(dtype=object)
    return momentum, weekly, rising


def build_trend_view(
    analyzer: TrendAnalyzer,
    *,
    store_id: str | None = None,
    window_days: int | None = None,
    recent_days: int | None = None,
    earlier_days: int | None = None,
    weeks: int = 26,
    n_rising: int = 10,
    n_top: int = 5,
) -> TrendView:
    """Build every frame of the Trends page.

    Parameters
    ----------
    analyzer : TrendAnalyzer
        Fitted (shared and cached by the dashboard; not changed here).
    store_id : str, optional
        Gaps for one store (default: the whole maison).
    window_days : int, optional
        Gaps over the demand of the last ``window_days`` (default: all history).
    recent_days, earlier_days : int, optional
        Momentum windows (default: the analyzer's parameters).
    weeks : int
        Length of the weekly series.
    n_rising : int
        Rising products to list.
    n_top : int
        Top products and designers per cluster.

    Raises
    ------
    UnknownIdError
        For an unknown store.
    ValueError
        For a window shorter than a day.

    Longer than 60 lines for the documentation of its eight options; the frames come
    from helpers (``_momentum_frames`` and the analyzer's methods).
    """
    if window_days is not None and window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    as_of = analyzer.dataset_.as_of
    params = analyzer.params_
    recent = int(recent_days or params.recent_days)
    earlier = int(earlier_days or params.earlier_days)
    since = as_of - pd.Timedelta(days=window_days) if window_days else None

    momentum, weekly, rising = _momentum_frames(analyzer, recent, earlier, weeks, n_rising)
    product_map = analyzer.product_map()
    clusters = analyzer.clusters(n_top=n_top)
    clusters["price_band"] = clusters["cluster"].map(cluster_price_bands(product_map))
    view = TrendView(
        clusters=clusters,
        momentum=momentum,
        weekly=weekly,
        gaps=analyzer.gaps(store_id=store_id, since=since),
        rising=rising,
        product_map=product_map,
        store_id=store_id,
        since=since,
        recent_days=recent,
        earlier_days=earlier,
        as_of=as_of,
        currencies=tuple(analyzer.currencies()),
    )
    _check_no_client_columns(view)
    return view


def _check_no_client_columns(view: TrendView) -> None:
    """A guard against a future change of the analyzer, not a user error."""
    for name, frame in view.frames().items():
        leaked = FORBIDDEN_COLUMNS & set(map(str, frame.columns))
        if leaked:
            raise RuntimeError(f"the {name} frame carries client columns {sorted(leaked)}")


def top_cluster(view: TrendView) -> int | None:
    """The cluster to open first: the fastest rising one, else the one with most demand.

    ``None`` without clusters.
    """
    if view.momentum.empty:
        return None
    rising = view.momentum[view.momentum["rising"]]
    if len(rising):
        return int(rising.iloc[0]["cluster"])
    best = view.clusters.sort_values(["demand_share", "cluster"], ascending=[False, True])
    return int(best.iloc[0]["cluster"]) if len(best) else int(view.momentum.iloc[0]["cluster"])
