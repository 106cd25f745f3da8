"""Trends benchmark: clustering time and Trends page data build time. Prints figures; not a test.

Two datasets: the default maison (5,000 clients, 1,200 products, in memory) and
the M scale (200,000 clients, 20,000 products), written as Parquet to a
temporary folder with :func:`core.data.generate.write_maison` and loaded through the
validated loader, as the dashboard does.

    python benchmarks/bench_trends.py                  # both
    python benchmarks/bench_trends.py --scales default
    python benchmarks/bench_trends.py --scales M --data-root /data/bench   # keep M data
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from core.app.trend_view import build_trend_view, top_cluster
from core.data.dataset import Dataset, load_dataset, validate_tables
from core.data.generate import generate_maison, write_maison
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.engine.trends import TrendAnalyzer

SCALES = {"default": (5_000, 1_200), "M": (200_000, 20_000)}


def timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, float]]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    rows.append((label, seconds))
    print(f"  {label:<44} {seconds:9.2f} s", flush=True)
    return out


def page_figures(view: Any, selected: int) -> None:
    """Build every plotly figure of the Trends page (what a page run draws)."""
    from dashboard.charts import trends as tc

    tc.product_map_figure(view.product_map, selected=selected)
    tc.momentum_figure(view.momentum)
    tc.weekly_figure(view.weekly, highlight=set(view.momentum.loc[view.momentum["rising"], "cluster"]),
                     selected=selected)  # fmt: skip
    tc.gaps_figure(view.gaps)


def bench(name: str, dataset: Dataset, rows: list[tuple[str, float]]) -> None:
    n_c, n_p, n_e = len(dataset.clients), len(dataset.products), len(dataset.events)
    print(f"\n[{name}] {n_c:,} clients, {n_p:,} products, {n_e:,} events", flush=True)
    model = timed(f"{name}: hybrid fit (for the item factors)",
                  lambda: HybridRecommender(config=EngineConfig()).fit(dataset), rows)  # fmt: skip
    analyzer = timed(f"{name}: clustering (TrendAnalyzer.fit)",
                     lambda: TrendAnalyzer.from_model(model, dataset), rows)  # fmt: skip
    sel = analyzer.selection_
    print(f"  chosen k = {analyzer.k_} (silhouette {sel['silhouette'].max():.3f}; "
          f"tried k = {sel['k'].min()}..{sel['k'].max()})")  # fmt: skip
    view = timed(f"{name}: page data, first open (build_trend_view)",
                 lambda: build_trend_view(analyzer), rows)  # fmt: skip
    for part, fn in (
        ("clusters", lambda: analyzer.clusters()),
        ("momentum", lambda: analyzer.momentum()),
        ("weekly series", lambda: analyzer.weekly_series()),
        ("gaps", lambda: analyzer.gaps()),
        ("rising products", lambda: analyzer.rising_products()),
        ("product map", lambda: analyzer.product_map()),
    ):
        timed(f"{name}:   of which {part}", fn, rows)
    store = dataset.stores["store_id"].iloc[0]
    timed(f"{name}: page data, store + 12-week filter",
          lambda: build_trend_view(analyzer, store_id=store, window_days=84), rows)  # fmt: skip
    selected = top_cluster(view) or 0
    timed(f"{name}: plotly figures", lambda: page_figures(view, selected), rows)
    timed(f"{name}: cluster drill-down (cluster_products)",
          lambda: analyzer.cluster_products(selected, n=20), rows)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="default,M", help="comma-separated: default, M")
    parser.add_argument("--data-root", help="keep the generated M data here (reused next time)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = set(scales) - set(SCALES)
    if unknown:
        parser.error(f"unknown scale(s) {sorted(unknown)}; choose from {sorted(SCALES)}")
    print(f"python {platform.python_version()} · {os.cpu_count()} CPUs · "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM · load {os.getloadavg()[0]:.1f}")  # fmt: skip
    rows: list[tuple[str, float]] = []
    if "default" in scales:
        n_c, n_p = SCALES["default"]
        maison = timed("default: generate (in memory)",
                       lambda: generate_maison(n_c, n_p, seed=args.seed), rows)  # fmt: skip
        dataset = timed("default: validate", lambda: validate_tables(maison.tables), rows)
        bench("default", dataset, rows)
    if "M" in scales:
        n_c, n_p = SCALES["M"]
        with tempfile.TemporaryDirectory(prefix="atelier-bench-trends-") as tmp:
            folder = Path(args.data_root or tmp) / f"M-seed{args.seed}"
            if not (folder / "events.parquet").is_file():
                timed("M: generate (write_maison, parquet)",
                      lambda: write_maison(folder, n_c, n_p, seed=args.seed, fmt="parquet"),
                      rows)  # fmt: skip
            dataset = timed("M: load and validate (load_dataset)",
                            lambda: load_dataset(folder), rows)  # fmt: skip
            bench("M", dataset, rows)
    peak = psutil.Process().memory_info().rss / 2**30
    print(f"\nresident memory at the end: {peak:.1f} GB")
    print("\nsummary")
    for label, seconds in rows:
        print(f"  {label:<44} {seconds:9.2f} s")


if __name__ == "__main__":
    main()
