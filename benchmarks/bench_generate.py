"""Time and peak memory of the maison generator.

    python benchmarks/bench_generate.py              # S: 5,000 clients, in memory and CSV
    python benchmarks/bench_generate.py --scale L    # 1M clients, 50k products, 30M events

Prints a small table and a JSON line. Peak memory is the process's maximum
resident set size (``ru_maxrss``), so each run measures one scale.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from core.data.generate import generate_maison, write_maison

SCALES: dict[str, dict[str, Any]] = {
    "S": {"n_clients": 5_000, "n_products": 1_200, "n_events": None, "fmt": "csv"},
    "L": {"n_clients": 1_000_000, "n_products": 50_000, "n_events": 30_000_000, "fmt": "parquet"},
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    size = dict(SCALES[args.scale])
    for key in ("n_clients", "n_products", "n_events", "fmt"):
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    result: dict[str, Any] = {"scale": args.scale, **size, "seed": args.seed}
    if args.scale == "S":
        t0 = time.perf_counter()
        m = generate_maison(size["n_clients"], size["n_products"], seed=args.seed)
        result["memory_s"] = round(time.perf_counter() - t0, 2)
        result["memory_events"] = len(m.tables["events"])
        del m
    last = [-1.0]

    def progress(stage: str, fraction: float) -> None:
        if args.verbose and stage == "clients" and fraction - last[0] >= 0.1:
            last[0] = fraction
            rss = psutil.Process().memory_info().rss / 2**20
            print(f"  {stage} {fraction:5.0%}  rss {rss:,.0f} MB", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    counts = write_maison(
        out,
        size["n_clients"],
        size["n_products"],
        seed=args.seed,
        fmt=size["fmt"],
        n_events=size["n_events"],
        chunk_clients=args.chunk_clients,
        progress=progress,
    )
    result["write_s"] = round(time.perf_counter() - t0, 2)
    result["rows"] = counts
    result["bytes_on_disk"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["cpus"] = psutil.cpu_count()
    result["python"] = platform.python_version()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="S")
    p.add_argument("--out", type=Path, help="folder to write to (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--n-clients", dest="n_clients", type=int)
    p.add_argument("--n-products", dest="n_products", type=int)
    p.add_argument("--n-events", dest="n_events", type=int)
    p.add_argument("--fmt", choices=["csv", "parquet"])
    p.add_argument("--chunk-clients", type=int, default=50_000)
    p.add_argument("-v", "--verbose", action="store_true", help="print progress to stderr")
    args = p.parse_args(argv)
    if args.out is not None:
        result = run(args, args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="atelier-bench-") as tmp:
            result = run(args, Path(tmp))
    rows = [
        ("scale", result["scale"]),
        ("clients / products", f"{result['n_clients']:,} / {result['n_products']:,}"),
        ("events written", f"{result['rows']['events']:,}"),
        ("format", result["fmt"]),
    ]
    if "memory_s" in result:
        rows.append(("generate_maison (s)", f"{result['memory_s']:.2f}"))
    rows += [
        ("write_maison (s)", f"{result['write_s']:.2f}"),
        ("peak RSS (MB)", f"{result['peak_rss_mb']:,.0f}"),
        ("on disk (MB)", f"{result['bytes_on_disk'] / 2**20:,.1f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
