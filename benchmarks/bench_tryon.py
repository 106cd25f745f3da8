"""What a try-on session costs per request: median and p95 ms, against a client's list.

Generates the default maison (5,000 clients, 1,200 products), fits the hybrid
model, then times :meth:`SessionSuggester.suggest_session` for sessions of 1 to
5 pieces (k=12, with explanations) next to :meth:`Suggester.suggest` for
consenting clients (the page's usual request)::

    python benchmarks/bench_tryon.py [--requests 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.engine.models.hybrid import HybridRecommender
from core.suggest.request import SuggestRequest
from core.suggest.session import SessionSuggester, TryOnSession


def _ms(samples: list[float]) -> str:
    a = np.asarray(samples) * 1000
    return f"median {np.median(a):.1f} ms, p95 {np.percentile(a, 95):.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    dataset = Dataset.from_frames(**generate_maison().tables)
    start = time.perf_counter()
    sugg = SessionSuggester(HybridRecommender().fit(dataset), dataset)
    print(f"fit {time.perf_counter() - start:.1f} s on {len(dataset.client_ids):,} clients")
    rng = np.random.default_rng(0)
    stores = dataset.stores.loc[~dataset.stores["online"].astype(bool), "store_id"].tolist()
    products = dataset.product_ids.external_ids
    clients = dataset.clients.loc[dataset.clients["consent_personalization"], "client_id"]
    request = SuggestRequest(k=12)
    sugg.suggest_session(TryOnSession(stores[0]).record(str(products[0]), "tried_on"), request)
    session_times, client_times = [], []
    for i in range(args.requests):
        pieces = rng.choice(products, size=int(rng.integers(1, 6)), replace=False)
        kinds = rng.choice(["tried_on", "asked_about"], size=pieces.size)
        session = TryOnSession.from_pairs(
            str(stores[i % len(stores)]),
            [(str(p), str(k)) for p, k in zip(pieces, kinds, strict=True)],
        )
        t = time.perf_counter()
        sugg.suggest_session(session, request)
        session_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        sugg.suggest(str(clients.iloc[i % len(clients)]), request)
        client_times.append(time.perf_counter() - t)
    print(f"session suggestions (1-5 pieces, k=12): {_ms(session_times)}")
    print(f"a client's suggestions (k=12):           {_ms(client_times)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
