"""What each optional part costs per request: a client's list with and without it, side by side.

On the default maison (5,000 clients, 1,200 products, image embeddings and
stock per size), one hybrid model is fitted per variant and
:meth:`Suggester.suggest` (k=12, explained, rules applied: the client page's
request) is timed for the same clients, the variants taking turns client by
client so that the machine's noise falls on all of them alike:

- ``all parts``: everything on (the default);
- ``no next step``: ``sequence_weight=0`` (the next-step block is not computed);
- ``no image embeddings``: the dataset without ``product_embeddings``;
- ``no sizes``: stock summed over sizes and no size runs (no size rule, no size chips).

A part's cost is the median of ``all parts`` minus the variant's. The try-on
session's own cost is ``benchmarks/bench_tryon.py``'s. ::

    python benchmarks/bench_parts.py [--requests 300]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.suggest.pipeline import Suggester
from core.suggest.request import SuggestRequest


def _without_sizes(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    stock = tables["stock"].groupby(["product_id", "store_id"], as_index=False)["quantity"].sum()
    products = tables["products"].assign(sizes="")
    return {**tables, "stock": stock, "products": products}


def _variants(tables: dict[str, pd.DataFrame]) -> dict[str, Callable[[], Suggester]]:
    def build(frames: dict[str, pd.DataFrame], config: EngineConfig | None = None) -> Suggester:
        dataset = Dataset.from_frames(**frames)
        return Suggester(HybridRecommender(config).fit(dataset), dataset)

    no_images = {k: v for k, v in tables.items() if k != "product_embeddings"}
    return {
        "all parts": lambda: build(tables),
        "no next step": lambda: build(tables, EngineConfig(sequence_weight=0.0)),
        "no image embeddings": lambda: build(no_images),
        "no sizes": lambda: build(_without_sizes(tables)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    tables = generate_maison(seed=args.seed, embeddings=True).tables
    suggesters = {}
    for name, build in _variants(tables).items():
        start = time.perf_counter()
        suggesters[name] = build()
        print(f"{name}: fitted in {time.perf_counter() - start:.1f} s", flush=True)
    clients = tables["clients"]
    ids = clients.loc[clients["consent_personalization"].astype(bool), "client_id"].astype(str)
    ids = ids.sample(n=min(args.requests + 20, len(ids)), random_state=args.seed).tolist()
    request = SuggestRequest(k=12)
    names = list(suggesters)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i, cid in enumerate(ids):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]  # each variant first as often as the others
            start = time.perf_counter()
            suggesters[name].suggest(cid, request)
            if i >= 20:  # the first clients warm caches
                times[name].append(time.perf_counter() - start)
    base = float(np.median(times["all parts"])) * 1000
    print(f"\n{len(ids) - 20} clients, k=12, explained (Suggester.suggest)")
    print(f"{'variant':<22}{'p50 ms':>9}{'p95 ms':>9}{'its part costs':>19}")
    for name in names:
        a = np.asarray(times[name]) * 1000
        p50 = float(np.median(a))
        cost = "" if name == "all parts" else f"{base - p50:+.1f} ms"
        print(f"{name:<22}{p50:>9.1f}{np.percentile(a, 95):>9.1f}{cost:>19}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
