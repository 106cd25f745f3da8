"""The in-memory fit and the Dask fit side by side: time, peak memory per process, spectra.

```bash
python benchmarks/bench_scale.py --scales S            # a minute or two
python benchmarks/bench_scale.py --scales S,M          # M: generation and fits take minutes
```

For each scale (the sizes of ``bench_engine.py``), the maison is generated
once into ``--data-root`` in the partitioned layout (``--buckets`` client
buckets; default: at least 4). Then, each in a fresh process so that each
memory figure is its own:

- ``in-memory``: ``load_dataset`` (the partitioned folder read whole) and
  ``HybridRecommender().fit``; peak RSS of the one process;
- ``dask``: ``fit_on_dask`` on a ``LocalCluster`` of ``--workers`` worker
  processes on loopback; peak RSS of the driver and of each worker
  (psutil, sampled every 50 ms).

- ``serve-memory`` and ``serve-per-client``: what a dashboard process holds
  and what one client's request costs. In memory: the whole dataset and the
  in-memory fit; per client (``ATELIER_SERVE=per-client``,
  :func:`core.app.serving.open_served`): products, clients and the Dask run's
  product-side model, with each client's events read from the partitioned
  layout inside the timed request. RSS after loading, and one client's
  suggestion list as the client page asks for it (``Suggester.suggest``: ten
  suggestions with rules, reasons and explanations), p50 and p95 over
  ``--requests`` clients, and the p50 of the same request again right after
  (a page rerun: per client, the events and the folded state are kept);
  then the same figures (``recommend_explain_*``) for the model's part alone,
  ``recommend`` of ten and ``explain_many`` of them, as ``bench_engine.py``
  times it, on other clients (one BLAS thread).
- ``serve-paired`` (on request, not by default): both serving modes in one
  process, interleaved, so that the difference a client's first request
  makes per client is measured under the same noise (:func:`run_serve_paired`).

Spectra: the top-10 singular values of both fits, their largest relative
difference, and the cosines of the principal angles between the leading
factor subspaces (up to the widest gap among the first ten values).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_engine import SCALES as ENGINE_SCALES  # noqa: E402
from benchmarks.bench_engine import Scale  # noqa: E402

#: bench_engine's sizes, and XL: a house the one-process path cannot hold.
SCALES = {**ENGINE_SCALES, "XL": Scale("XL", 5_000_000, 100_000, 150_000_000)}

DEFAULT_MODES: tuple[str, ...] = ("in-memory", "dask", "serve-memory", "serve-per-client")
MODES: tuple[str, ...] = (*DEFAULT_MODES, "serve-paired")
DEFAULT_ROOT = Path(os.environ.get("ATELIER_BENCH_DATA", "/tmp/atelier-bench")) / "scale"


class PeakRSS:
    """Peak resident memory of some processes, sampled in a thread (pids may be added later)."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        self.pids = list(pids)
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.interval = interval

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in list(self.pids):
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.Error:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _gb(n: float) -> float:
    return round(n / 2**30, 3)


def prepare(scale: str, root: Path, seed: int, buckets: int | None) -> Path:
    """The scale's maison in the partitioned layout (generated once, then reused)."""
    from core.data.buckets import buckets_for
    from core.data.generate import write_maison
    from core.data.partitioned import partition_folder

    spec = SCALES[scale]
    n_events = spec.n_events or 30 * spec.n_clients
    b = buckets or max(4, buckets_for(n_events))
    folder = root / f"{scale}-seed{seed}-b{b}"
    if (folder / "events" / "_manifest.json").is_file():
        return folder
    t0 = time.perf_counter()
    write_maison(folder, spec.n_clients, spec.n_products, seed=seed, fmt="parquet",
                 n_events=spec.n_events)  # fmt: skip
    partition_folder(folder, n_buckets=b)
    print(f"generated {scale} into {folder} ({b} buckets) in {time.perf_counter() - t0:.0f} s")
    return folder


def run_in_memory(folder: Path, out: Path) -> dict[str, Any]:
    from core.data.dataset import load_dataset
    from core.engine.models.hybrid import HybridRecommender

    with PeakRSS([os.getpid()]) as peak:
        t0 = time.perf_counter()
        ds = load_dataset(folder, max_file_mb=math.inf)
        t1 = time.perf_counter()
        model = HybridRecommender().fit(ds)
        t2 = time.perf_counter()
    np.savez(out, singular_values=model.singular_values_, factors=model.item_factors_,
             known=model.known_products_)  # fmt: skip
    return {"load_s": t1 - t0, "fit_s": t2 - t1, "peak_rss_gb": _gb(max(peak.peak.values()))}


def _requests(n: int, ids: list[str], call: Any, seed: int = 0) -> dict[str, float]:
    """p50 and p95 in ms of ``call(client_id)`` over ``n`` clients (after 10 warm-up calls),
    and the p50 of the same call again right after (a page rerun for the same client).

    ``seed`` draws the clients: calls timed in one process draw different ones,
    so that none finds a client's events or state kept by another.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    chosen = [ids[i] for i in rng.choice(len(ids), size=min(n + 10, len(ids)), replace=False)]
    times, again = [], []
    with threadpool_limits(1):
        for k, c in enumerate(chosen):
            t0 = time.perf_counter()
            call(c)
            t1 = time.perf_counter()
            call(c)
            if k >= 10:
                times.append((t1 - t0) * 1e3)
                again.append((time.perf_counter() - t1) * 1e3)
    return {
        "p50_ms": float(np.median(times)),
        "p95_ms": float(np.percentile(times, 95)),
        "again_p50_ms": float(np.median(again)),
    }


def run_serve(mode: str, folder: Path, model_dir: Path, n: int) -> dict[str, Any]:
    """RSS after loading and per-request latency of one serving mode (see the module doc)."""
    proc = psutil.Process()
    t0 = time.perf_counter()
    from core.suggest.pipeline import Suggester
    from core.suggest.request import SuggestRequest
    from core.suggest.rules import RuleSet

    fit: dict[str, Any] = {}
    if mode == "serve-memory":
        from core.data.dataset import load_dataset
        from core.engine.models.hybrid import HybridRecommender

        with PeakRSS([os.getpid()]) as read_peak:
            ds = load_dataset(folder, max_file_mb=math.inf)
        loaded = time.perf_counter()
        fit["rss_after_read_gb"] = _gb(proc.memory_info().rss)
        with PeakRSS([os.getpid()]) as fit_peak:
            model = HybridRecommender().fit(ds)
        fit.update(
            read_s=loaded - t0,
            fit_s=time.perf_counter() - loaded,
            read_peak_rss_gb=_gb(max(read_peak.peak.values())),
            fit_peak_rss_gb=_gb(max(fit_peak.peak.values())),
            fit_timings_s={k: round(v, 2) for k, v in model.fit_timings_.items()},
        )
        suggester = Suggester(model, ds, RuleSet.default())
        # the clients table in both modes, so that both time the same clients
        ids = ds.clients["client_id"].astype(str).tolist()

        def call(c: str) -> None:
            suggester.suggest(c, SuggestRequest(k=10))

        def bare(c: str) -> None:  # recommend + explain, as bench_engine times them
            top = model.recommend(c, 10, exclude_seen=True)["product_id"].tolist()
            model.explain_many(c, top)

    else:
        from core.app.serving import open_served

        served = open_served(folder, model_dir)
        ids = served.dataset.clients["client_id"].astype(str).tolist()
        suggester = Suggester(served.model, served.dataset, RuleSet.default())

        def call(c: str) -> None:
            suggester.suggest(c, SuggestRequest(k=10, extra_events=served.events(c)))

        def bare(c: str) -> None:  # recommend + explain, the client's event read included
            events = served.event_rows(c)  # Arrow rows, folded in without a frame
            top = served.model.recommend(c, 10, exclude_seen=True, extra_events=events)
            served.model.explain_many(c, top["product_id"].tolist(), events)

    load_s = time.perf_counter() - t0
    import gc

    gc.collect()
    rss = proc.memory_info().rss
    explained = {f"recommend_explain_{k}": v for k, v in _requests(n, ids, bare, seed=1).items()}
    return {"load_s": load_s, "rss_gb": _gb(rss), **fit, **_requests(n, ids, call), **explained}


def run_serve_paired(folder: Path, model_dir: Path, n: int) -> dict[str, Any]:
    """Both serving modes in one process, their requests interleaved, each on clients of its own.

    Two processes run minutes apart on a shared machine differ by more than
    what is compared (its speed drifts by 20-40 % between runs); here every
    figure sees the same noise. Per mode: ``recommend`` of ten and
    ``explain_many`` of them (the per-client one reading the client's events
    first), and the client page's suggestion list; each timed on a client's
    first request and again right after.
    """
    from threadpoolctl import threadpool_limits

    from core.app.serving import open_served
    from core.data.dataset import load_dataset
    from core.engine.models.hybrid import HybridRecommender
    from core.suggest.pipeline import Suggester
    from core.suggest.request import SuggestRequest
    from core.suggest.rules import RuleSet

    served = open_served(folder, model_dir)
    ds = load_dataset(folder, max_file_mb=math.inf)
    model = HybridRecommender().fit(ds)
    in_memory = Suggester(model, ds, RuleSet.default())
    per_client = Suggester(served.model, served.dataset, RuleSet.default())

    def bare_memory(c: str) -> None:
        model.explain_many(c, model.recommend(c, 10, exclude_seen=True)["product_id"].tolist())

    def bare_per_client(c: str) -> None:
        events = served.event_rows(c)  # Arrow rows, folded in without a frame
        top = served.model.recommend(c, 10, exclude_seen=True, extra_events=events)
        served.model.explain_many(c, top["product_id"].tolist(), events)

    calls: dict[str, Any] = {
        "recommend_explain_memory": bare_memory,
        "recommend_explain_per_client": bare_per_client,
        "suggest_memory": lambda c: in_memory.suggest(c, SuggestRequest(k=10)),
        "suggest_per_client": lambda c: per_client.suggest(
            c, SuggestRequest(k=10, extra_events=served.events(c))
        ),
    }
    ids = served.dataset.clients["client_id"].astype(str).tolist()
    rounds = min(n + 10, len(ids) // len(calls))
    chosen = np.random.default_rng(11).choice(len(ids), size=rounds * len(calls), replace=False)
    first: dict[str, list[float]] = {name: [] for name in calls}
    again: dict[str, list[float]] = {name: [] for name in calls}
    with threadpool_limits(1):
        for i in range(rounds):
            for j, (name, call) in enumerate(calls.items()):
                c = ids[chosen[i * len(calls) + j]]
                t0 = time.perf_counter()
                call(c)
                t1 = time.perf_counter()
                call(c)
                if i >= 10:  # warm-up
                    first[name].append((t1 - t0) * 1e3)
                    again[name].append((time.perf_counter() - t1) * 1e3)
    out: dict[str, Any] = {"clients_per_call": rounds - 10}
    for name in calls:
        out[name] = {
            "p50_ms": round(float(np.median(first[name])), 3),
            "p95_ms": round(float(np.percentile(first[name], 95)), 3),
            "again_p50_ms": round(float(np.median(again[name])), 3),
        }
    for kind in ("recommend_explain", "suggest"):
        mem, per = out[f"{kind}_memory"], out[f"{kind}_per_client"]
        out[f"{kind}_per_client_minus_memory_p50_ms"] = round(per["p50_ms"] - mem["p50_ms"], 3)
        out[f"{kind}_again_per_client_minus_memory_p50_ms"] = round(
            per["again_p50_ms"] - mem["again_p50_ms"], 3
        )
    return out


def run_dask(folder: Path, out: Path, workers: int, memory_limit: str | None) -> dict[str, Any]:
    import distributed

    from core.engine.scale.cluster import fit_on_dask

    with distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, memory_limit=memory_limit or "auto",
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        pids = list(client.run(os.getpid).values())
        with PeakRSS([os.getpid(), *pids]) as peak:
            t0 = time.perf_counter()
            model = fit_on_dask(folder, client, out=out.with_suffix(".model"))
            fit_s = time.perf_counter() - t0
    np.savez(out, singular_values=model.singular_values_, factors=model.item_factors_,
             known=model.known_products_)  # fmt: skip
    return {
        "fit_s": fit_s,
        "worker_memory_limit": memory_limit or "auto (the machine's memory / workers)",
        "driver_peak_rss_gb": _gb(peak.peak.get(os.getpid(), 0)),
        "worker_peak_rss_gb": [_gb(peak.peak.get(p, 0)) for p in pids],
        "timings_s": {k: round(v, 2) for k, v in model.fit_timings_.items()},
    }


def compare_spectra(a: Path, b: Path) -> dict[str, Any]:
    x, y = np.load(a), np.load(b)
    sa, sb = x["singular_values"][:10], y["singular_values"][:10]
    lead = 3 + int(np.argmax(sa[2:-1] / sa[3:])) if sa.size >= 4 else sa.size
    known = x["known"]
    fa, fb = x["factors"][known, :lead], y["factors"][known, :lead]
    cosines = np.linalg.svd(np.linalg.qr(fa)[0].T @ np.linalg.qr(fb)[0], compute_uv=False)
    return {
        "in_memory_top10": [round(float(v), 4) for v in sa],
        "dask_top10": [round(float(v), 4) for v in sb],
        "max_rel_diff_top10": float(np.max(np.abs(sa - sb) / sa)),
        "leading_factors": lead,
        "min_cos_principal_angle": float(cosines.min()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", default="S", help="comma-separated among S, M, L, XL")
    p.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"comma-separated among {', '.join(MODES)} (default: all but serve-paired; "
        "XL: dask only)",
    )
    p.add_argument(
        "--memory-limit",
        help="each Dask worker's memory limit (e.g. 4GB; Dask spills, then pauses, then "
        "restarts a worker beyond it); default: Dask's (memory / workers)",
    )
    p.add_argument("--data-root", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--buckets", type=int)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--requests", type=int, default=200, help="clients timed per serving mode")
    p.add_argument("--one", nargs=3, metavar=("MODE", "FOLDER", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        mode, folder, out = args.one
        if mode == "serve-paired":
            res = run_serve_paired(Path(folder), Path(out), args.requests)
        elif mode.startswith("serve-"):
            res = run_serve(mode, Path(folder), Path(out), args.requests)
        elif mode == "in-memory":
            res = run_in_memory(Path(folder), Path(out))
        else:
            res = run_dask(Path(folder), Path(out), args.workers, args.memory_limit)
        print("RESULT " + json.dumps(res))
        return
    for scale in args.scales.split(","):
        folder = prepare(scale, args.data_root, args.seed, args.buckets)
        results: dict[str, Any] = {"scale": scale, "folder": str(folder)}
        with tempfile.TemporaryDirectory() as tmp:
            modes = [m.strip() for m in args.modes.split(",") if m.strip()]
            unknown = sorted(set(modes) - set(MODES))
            if unknown:
                raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; choose among {MODES}")
            for mode in modes:
                out = Path(tmp) / f"{mode}.npz"
                if mode.startswith("serve-"):  # the product-side model the dask run saved
                    out = Path(tmp) / "dask.model"
                cmd = [sys.executable, __file__, "--workers", str(args.workers),
                       "--requests", str(args.requests),
                       "--one", mode, str(folder), str(out)]  # fmt: skip
                if args.memory_limit:
                    cmd += ["--memory-limit", args.memory_limit]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                if done.returncode or not line:
                    raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
                results[mode] = json.loads(line[-1][7:])
                print(f"{scale} {mode}: {json.dumps(results[mode])}", flush=True)
            if {"in-memory", "dask"} <= set(modes):
                results["spectra"] = compare_spectra(
                    Path(tmp) / "in-memory.npz", Path(tmp) / "dask.npz"
                )
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
