"""Engine benchmark: fit time and memory, latency, fold-in and throughput at three scales.

Prints a table and writes JSON; never run as a test. See benchmarks/README.md.

    python benchmarks/bench_engine.py --scales S
    python benchmarks/bench_engine.py --scales S,M,L --data-root /data/atelier-bench
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from core.data.dataset import Dataset
from core.engine.config import EngineConfig
from core.engine.evaluation import rank_clients
from core.engine.models.base import Recommender
from core.engine.ranking import top_indices


@dataclass(frozen=True)
class Scale:
    name: str
    n_clients: int
    n_products: int
    n_events: int | None  # None: the generator's default (30 per client)


SCALES = {
    "S": Scale("S", 5_000, 1_200, None),
    "M": Scale("M", 200_000, 20_000, 5_000_000),
    "L": Scale("L", 1_000_000, 50_000, 30_000_000),
}

#: Targets from the design (checked and printed as ok / MISSED).
TARGETS = {
    "L": {
        "fit_s": 180.0,
        "fit_peak_rss_gb": 8.0,
        "recommend_explain_p95_ms": 20.0,
        "explain_vs_floor_p95": 5.0,
    },
    "*": {"fold_in_p95_ms": 5.0},
}


# ------------------------------------------------------------------ memory
class PeakRSS:
    """Samples the process's resident memory in a background thread."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.start_rss = self._proc.memory_info().rss
        self.peak = self.start_rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def _gb(n_bytes: float) -> float:
    return n_bytes / 2**30


def _max_rss_gb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return _gb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)


@contextmanager
def _timer(out: dict[str, float], key: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    out[key] = time.perf_counter() - t0


def _percentiles(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95))}


# -------------------------------------------------------------------- data
def _ensure_data(scale: Scale, root: Path, seed: int) -> Path:
    """Generate the scale's maison as Parquet once; later runs reuse it."""
    import core.data.generate
    from core.data.generate import write_maison

    # A changed generator makes different data: key the cache by its source too.
    source = Path(core.data.generate.__file__).read_bytes()
    version = hashlib.sha256(source).hexdigest()[:8]
    folder = root / f"{scale.name}-seed{seed}-gen{version}"
    if (folder / "events.parquet").is_file():
        return folder
    print(f"[{scale.name}] generating {scale.n_clients:,} clients into {folder} ...", flush=True)
    t0 = time.perf_counter()
    write_maison(
        folder,
        scale.n_clients,
        scale.n_products,
        seed=seed,
        fmt="parquet",
        n_events=scale.n_events,
    )
    print(f"[{scale.name}] generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder


def _load(folder: Path) -> Dataset:
    """Read the Parquet tables without re-validating them (they come from the generator)."""
    tables = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in ("products", "stores", "stock", "associates", "clients", "events")
    }
    return Dataset.from_frames(
        tables["products"],
        tables["events"],
        clients=tables["clients"],
        stores=tables["stores"],
        stock=tables["stock"],
        associates=tables["associates"],
        validate=False,
    )


# ----------------------------------------------------------------- figures
#: Stages of a hybrid fit, timed from the same fit when the model records no
#: ``fit_timings_``: (module, attribute, label). Methods are given as "Class.method".
_STAGES = (
    ("core.engine.models.hybrid", "build_interactions", "interaction_matrix"),
    ("core.engine.models.hybrid", "fit_item_factors", "svd"),
    ("core.engine.features", "ProductFeatures.fit", "content_features"),
    ("core.engine.features", "ProductFeatures.transform", "content_features"),
    ("core.engine.models.factors", "fit_ridge", "ridge_map"),
    ("core.engine.models.factors", "client_factor_moments", "factor_moments"),
    ("core.engine.models.factors", "factor_labels", "factor_labels"),
    ("core.engine.models.svd", "build_interactions", "interaction_matrix"),
    ("core.engine.models.svd", "fit_item_factors", "svd"),
)


@contextmanager
def _stage_timer(timings: dict[str, float]) -> Iterator[None]:
    """Wrap the fit's building blocks with timers for the duration of the block.

    Benchmark-only instrumentation: names that do not exist are skipped.
    """
    import importlib

    patched: list[tuple[Any, str, Any]] = []

    def wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                timings[label] = timings.get(label, 0.0) + time.perf_counter() - t0

        return timed

    try:
        for module_name, attr, label in _STAGES:
            try:
                owner: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            original = getattr(owner, name, None) if owner is not None else None
            if original is None:
                continue
            patched.append((owner, name, original))
            setattr(owner, name, wrap(original, label))
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def _model(name: str, config: EngineConfig) -> Recommender:
    if name.startswith("hybrid"):
        from core.engine.models.hybrid import HybridRecommender

        if name == "hybrid_order_blind":  # without the next-step block: what it costs
            config = config.with_updates(sequence_weight=0.0)
        return HybridRecommender(config=config)
    from core.engine.models.svd import SVDRecommender

    return SVDRecommender(config=config)


def _explain_top(model: Recommender, client: str, k: int, extra: pd.DataFrame | None) -> None:
    rec = model.recommend(client, k, exclude_seen=True, extra_events=extra)
    products = rec["product_id"].tolist()
    many: Callable[..., Any] | None = getattr(model, "explain_many", None)
    if many is not None:
        many(client, products, extra)
    else:
        for pid in products:
            model.explain(client, pid, extra)


def _floor_one(
    matrix: Any,
    factors: np.ndarray,
    row: int,
    k: int,
    select: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> np.ndarray:
    """The least any model on these factors must do: u = x V, s = u V^T, top-k.

    The top-k is ``argpartition`` plus a sort of the k, or ``select(s, k)``.
    """
    u = matrix[row] @ factors
    s = np.asarray(u @ factors.T).ravel()
    if select is not None:
        return select(s, k)
    top = np.argpartition(-s, k)[:k]
    return top[np.argsort(-s[top])]


def _bare_recommend(
    model: Recommender, clients: list[str], rows: np.ndarray, k: int
) -> dict[str, Any]:
    """Bare recommend (a frame, and arrays) beside implicit's ALS recommend on the same matrix.

    implicit's ALS (``implicit`` package, the bench extra) is fitted on the
    model's own interaction matrix with as many factors, and asked for the
    same clients' top ``k`` with their past products filtered, one client at
    a time, as :meth:`recommend` is. Every call runs on one BLAS thread.
    """
    from threadpoolctl import threadpool_limits

    out: dict[str, Any] = {}
    timed: dict[str, list[float]] = {"recommend": [], "recommend_arrays": [], "implicit_als": []}
    matrix = model.interactions_.matrix.tocsr().astype(np.float32)  # type: ignore[attr-defined]
    als = None
    try:
        from implicit.cpu.als import AlternatingLeastSquares

        als = AlternatingLeastSquares(
            factors=int(model.item_factors_.shape[1]),  # type: ignore[attr-defined]
            iterations=5,
            random_state=0,
        )
        als.fit(matrix, show_progress=False)
    except ImportError:
        out["implicit_als_note"] = "implicit not installed (pip install -e '.[bench]')"
    calls: dict[str, Callable[[int], Any]] = {
        "recommend": lambda n: model.recommend(clients[n], k, exclude_seen=True),
        "recommend_arrays": lambda n: model.recommend_arrays(clients[n], k, exclude_seen=True),
    }
    if als is not None:
        calls["implicit_als"] = lambda n: als.recommend(
            int(rows[n]), matrix[int(rows[n])], N=k, filter_already_liked_items=True
        )
    with threadpool_limits(limits=1):
        for fn in calls.values():
            fn(0)  # warm-up
        # Interleaved (the same noise for each), each on clients of its own, so
        # that no call finds a client's state cached by another.
        third = len(clients) // 3
        for n in range(1, third):
            for j, (name, fn) in enumerate(calls.items()):
                t0 = time.perf_counter()
                fn(n + j * third)
                timed[name].append(time.perf_counter() - t0)
    for name, samples in timed.items():
        if samples:
            out[name] = _percentiles(samples)
    if als is not None:
        implicit_p50 = out["implicit_als"]["p50_ms"]
        out["recommend_vs_implicit_p50"] = out["recommend"]["p50_ms"] / implicit_p50
        out["arrays_vs_implicit_p50"] = out["recommend_arrays"]["p50_ms"] / implicit_p50
    return out


def _content_bound(model: Recommender, clients: list[str], k: int) -> dict[str, Any]:
    """How much of the catalogue the pruned ranking of one client scores in full.

    The hybrid's exact top-k on a large catalogue (``HybridRecommender._top_one``)
    computes the SVD and content blocks only for the products whose bound
    can still reach the top: bounds of ``V_i . u`` and ``F_i . p`` from int8
    columns (``quantised_bounds``; the content one from the features' leading
    directions, ``BlockMoments``), every other block exact. This counts, per
    client, the products whose bound reaches the exact ``k``-th best score:
    those it must score in full (at least: its second pass scores the
    products whose bound reaches the ``k``-th best exact score of the ``2k``
    best bounds; it scores them all when the features have too few stored
    cells, ``PRUNED_CONTENT_CELLS`` and ``PRUNED_CELLS_PER_GRAM_CELL``, or for
    a client with little history). Hybrid only (it reads the model's
    per-client state and bound columns).
    """
    if getattr(model, "_content_bound", None) is None:
        return {}
    from core.engine.models.hybrid import _CONTENT, _SVD
    from core.engine.models.hybrid_kernels import quantised_bounds

    hybrid: Any = model
    features, factors = hybrid.features_, hybrid.item_factors_
    shares = []
    for c in clients[:200]:
        state, _ = hybrid._build_state([c], None)
        score = np.array(model.score_clients([c])[0], dtype=np.float64)
        score[model.seen_mask([c])[0]] = -np.inf
        finite = np.isfinite(score)
        if finite.sum() <= k:
            continue
        w, u = state.weights[0], state.u[0]
        _, profile = state.inputs.block_inputs()
        svd_bound = np.empty(factors.shape[0], dtype=np.float32)
        content_bound = np.empty_like(svd_bound)
        weights = hybrid._bound_weights(u, profile)
        columns, scales = hybrid._bound_columns, hybrid._bound_scales
        quantised_bounds(columns, weights, u.size, scales, svd_bound, content_bound)
        exact = w[_SVD] * (factors @ u) + w[_CONTENT] * (features @ np.asarray(profile))
        bound = score - exact + w[_SVD] * svd_bound + w[_CONTENT] * content_bound
        kth = np.sort(score[finite])[-k]
        shares.append(float((bound[finite] >= kth).mean()))
    if not shares:
        return {}
    return {
        "content_bound_share_p50": float(np.median(shares)),
        "content_bound_share_p90": float(np.percentile(shares, 90)),
    }


def bench_scale(
    scale: Scale, root: Path, seed: int, n_latency: int, n_batch: int, model_name: str, k: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"scale": scale.name}
    times: dict[str, float] = {}
    folder = _ensure_data(scale, root, seed)
    with _timer(times, "load_s"):
        ds = _load(folder)
    out["sizes"] = {
        "clients": len(ds.clients),
        "products": len(ds.products),
        "events": len(ds.events),
    }
    print(f"[{scale.name}] loaded {out['sizes']} in {times['load_s']:.1f} s", flush=True)
    gc.collect()

    config = EngineConfig()
    model = _model(model_name, config)
    stages: dict[str, float] = {}
    with PeakRSS() as mem, _stage_timer(stages), _timer(times, "fit_s"):
        model.fit(ds)
    out["fit_s"] = times["fit_s"]
    out["load_s"] = times["load_s"]
    recorded = getattr(model, "fit_timings_", None)
    if recorded:
        out["fit_breakdown_s"] = {str(k): float(v) for k, v in recorded.items()}
        out["fit_breakdown_source"] = "model.fit_timings_"
    else:
        stages["other"] = max(0.0, out["fit_s"] - sum(stages.values()))
        out["fit_breakdown_s"] = stages
        out["fit_breakdown_source"] = "benchmark timers around the fit's building blocks"
    out["rss_before_fit_gb"] = _gb(mem.start_rss)
    out["fit_peak_rss_gb"] = _gb(mem.peak)
    out["fit_extra_rss_gb"] = _gb(mem.peak - mem.start_rss)
    print(f"[{scale.name}] fit in {out['fit_s']:.1f} s, peak {out['fit_peak_rss_gb']:.2f} GB")

    rng = np.random.default_rng(seed)
    inter = model.interactions_  # type: ignore[attr-defined]
    active = np.flatnonzero(np.diff(inter.matrix.indptr) > 0)
    sample = rng.choice(active, size=min(n_latency, active.size), replace=False)
    clients = [str(c) for c in ds.client_ids.to_external(sample)]
    product_ids = ds.product_ids.external_ids

    # Bare recommend first, while no client's state is cached.
    out.update(_bare_recommend(model, clients, sample, k))
    out.update(_content_bound(model, clients, k))

    # Recommend + explain (warm up once first: caches, lazy imports).
    _explain_top(model, clients[0], k, None)
    lat = []
    for c in clients:
        t0 = time.perf_counter()
        _explain_top(model, c, k, None)
        lat.append(time.perf_counter() - t0)
    out["recommend_explain"] = _percentiles(lat)

    # The floor on the same factors.
    factors = np.asarray(model.item_factors_, dtype=np.float64)
    matrix = inter.matrix
    floor = []
    for r in sample:
        t0 = time.perf_counter()
        _floor_one(matrix, factors, int(r), k)
        floor.append(time.perf_counter() - t0)
    out["floor"] = _percentiles(floor)
    out["explain_vs_floor_p95"] = out["recommend_explain"]["p95_ms"] / out["floor"]["p95_ms"]
    # The same floor with the model's own exact top-k instead of a full argpartition.
    floor_topk = []
    for r in sample:
        t0 = time.perf_counter()
        _floor_one(matrix, factors, int(r), k, select=top_indices)
        floor_topk.append(time.perf_counter() - t0)
    out["floor_top_indices"] = _percentiles(floor_topk)
    out["explain_vs_floor_top_indices_p95"] = (
        out["recommend_explain"]["p95_ms"] / out["floor_top_indices"]["p95_ms"]
    )

    # Fold-in: one extra event, scored without a refit.
    fold, fold_rec = [], []
    for c in clients[:200]:
        extra = pd.DataFrame(
            {
                "client_id": [c],
                "product_id": [product_ids[int(rng.integers(len(product_ids)))]],
                "event_type": ["purchase"],
                "timestamp": [ds.as_of],
            }
        )
        t0 = time.perf_counter()
        model.score_clients([c], extra)
        t1 = time.perf_counter()
        _explain_top(model, c, k, extra)
        t2 = time.perf_counter()
        fold.append(t1 - t0)
        fold_rec.append(t2 - t1)
    out["fold_in"] = _percentiles(fold)
    out["fold_in_recommend_explain"] = _percentiles(fold_rec)

    # Batch scoring throughput (top-k of many clients at once).
    batch = [str(c) for c in ds.client_ids.to_external(active[: min(n_batch, active.size)])]
    t0 = time.perf_counter()
    rank_clients(model, batch, k)
    out["batch_clients_per_s"] = len(batch) / (time.perf_counter() - t0)
    rows = active[: len(batch)]
    t0 = time.perf_counter()
    size = max(64, 2**24 // factors.shape[0])
    for start in range(0, rows.size, size):
        s = np.asarray(matrix[rows[start : start + size]] @ factors) @ factors.T
        np.argpartition(-s, k, axis=1)[:, :k]
    out["floor_batch_clients_per_s"] = len(batch) / (time.perf_counter() - t0)
    out["process_max_rss_gb"] = _max_rss_gb()
    return out


# ------------------------------------------------------------------ output
def _targets(result: dict[str, Any]) -> dict[str, str]:
    checks = {**TARGETS["*"], **TARGETS.get(result["scale"], {})}
    values = {
        "fit_s": result["fit_s"],
        "fit_peak_rss_gb": result["fit_peak_rss_gb"],
        "recommend_explain_p95_ms": result["recommend_explain"]["p95_ms"],
        "fold_in_p95_ms": result["fold_in"]["p95_ms"],
        "explain_vs_floor_p95": result["explain_vs_floor_p95"],
    }
    return {
        key: f"{values[key]:.2f} <= {limit:g}: {'ok' if values[key] <= limit else 'MISSED'}"
        for key, limit in checks.items()
    }


def _table(results: list[dict[str, Any]]) -> str:
    lines = []
    header = (
        f"{'scale':<5} {'clients':>9} {'products':>8} {'events':>10} {'fit s':>7} "
        f"{'peak GB':>7} {'rec+expl p50/p95 ms':>20} {'floor p50/p95 ms':>17} "
        f"{'fold-in p50/p95 ms':>19} {'batch cl/s':>10} {'floor cl/s':>10}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for r in results:
        s = r["sizes"]
        re, fl, fo = r["recommend_explain"], r["floor"], r["fold_in"]
        lines.append(
            f"{r['scale']:<5} {s['clients']:>9,} {s['products']:>8,} {s['events']:>10,} "
            f"{r['fit_s']:>7.1f} {r['fit_peak_rss_gb']:>7.2f} "
            f"{re['p50_ms']:>9.2f}/{re['p95_ms']:<10.2f} {fl['p50_ms']:>7.3f}/{fl['p95_ms']:<9.3f} "
            f"{fo['p50_ms']:>8.2f}/{fo['p95_ms']:<10.2f} {r['batch_clients_per_s']:>10,.0f} "
            f"{r['floor_batch_clients_per_s']:>10,.0f}"
        )
    for r in results:
        parts = [
            f"{name} {r[name]['p50_ms']:.3f}/{r[name]['p95_ms']:.3f}"
            for name in ("recommend", "recommend_arrays", "implicit_als")
            if name in r
        ]
        lines.append(f"{r['scale']} bare recommend p50/p95 ms: " + ", ".join(parts))
        if "recommend_vs_implicit_p50" in r:
            lines.append(
                f"{r['scale']} p50 ratio to implicit's ALS recommend: frame "
                f"{r['recommend_vs_implicit_p50']:.2f}x, arrays {r['arrays_vs_implicit_p50']:.2f}x"
            )
        if "content_bound_share_p50" in r:
            lines.append(
                f"{r['scale']} share of the catalogue whose bound reaches its top k: "
                f"p50 {r['content_bound_share_p50']:.1%}, p90 {r['content_bound_share_p90']:.1%}"
            )
        if r["fit_breakdown_s"]:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in r["fit_breakdown_s"].items())
            lines.append(f"{r['scale']} fit breakdown (s): {parts}")
        ft = r["floor_top_indices"]
        lines.append(
            f"{r['scale']} floor with the model's top-k (top_indices): "
            f"{ft['p50_ms']:.3f}/{ft['p95_ms']:.3f} ms p50/p95, "
            f"rec+expl {r['explain_vs_floor_top_indices_p95']:.1f}x its p95"
        )
        for key, verdict in r["targets"].items():
            lines.append(f"{r['scale']} target {key}: {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="S", help="comma-separated among S, M, L")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "results" / "engine.json"),
        help="JSON file to write (default benchmarks/results/engine.json, not tracked)",
    )
    parser.add_argument(
        "--data-root",
        default=os.environ.get("ATELIER_BENCH_DATA", "/tmp/atelier-bench"),
        help="where generated data is cached (one folder per scale and seed)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--model",
        choices=["hybrid", "hybrid_order_blind", "svd"],
        default="hybrid",
        help="hybrid_order_blind: the hybrid without its next-step block",
    )
    parser.add_argument("--k", type=int, default=20, help="suggestions per client")
    parser.add_argument("--latency-clients", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=20_000)
    args = parser.parse_args(argv)
    names = [s.strip().upper() for s in args.scales.split(",") if s.strip()]
    unknown = [n for n in names if n not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s) {', '.join(unknown)}; choose among S, M, L")
    results = []
    if len(names) > 1:
        # One process per scale, so that each peak-memory figure is that scale's alone.
        for name in names:
            part = Path(args.out).with_suffix(f".{name}.json")
            cmd = [sys.executable, __file__, "--scales", name, "--out", str(part)]
            cmd += ["--data-root", args.data_root, "--seed", str(args.seed)]
            cmd += ["--model", args.model, "--k", str(args.k)]
            cmd += ["--latency-clients", str(args.latency_clients)]
            cmd += ["--batch-clients", str(args.batch_clients)]
            code = subprocess.call(cmd)
            if code != 0:
                print(f"scale {name} failed (exit code {code})", file=sys.stderr)
                continue
            results += json.loads(part.read_text(encoding="utf-8"))["results"]
            part.unlink()
        names = []
    for name in names:
        r = bench_scale(
            SCALES[name],
            Path(args.data_root),
            args.seed,
            args.latency_clients,
            args.batch_clients,
            args.model,
            args.k,
        )
        r["targets"] = _targets(r)
        results.append(r)
        gc.collect()
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "memory_gb": round(_gb(psutil.virtual_memory().total), 1),
            "platform": platform.platform(),
        },
        "model": args.model,
        "k": args.k,
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(_table(results))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
