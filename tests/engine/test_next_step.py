"""The next-step block: what buyers of a client's pieces bought next, in time order.

Tiny exact data for the counts and the matrix, an exact decomposition of the
block's part of the score, and the generator's planted progression (entry
pieces lead to signature pieces) for what the block learns: it must rank the
planted next step far above where the order-blind hybrid ranks it, and must
not point a signature piece's buyers back to the entry piece.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.data.ids import IdMap, codes_in
from core.engine.cells import fit_date
from core.engine.config import EngineConfig
from core.engine.events import event_arrays
from core.engine.models.hybrid import HybridRecommender
from core.engine.transitions import (
    TransitionCounts,
    directionality,
    transition_counts,
    transition_matrix,
)
from core.suggest.reasons import associate_reasons, client_reasons

PRODUCTS = ["p1", "p2", "p3", "p4"]
AS_OF = pd.Timestamp("2026-06-01")


def _events(rows: list[tuple[str, str, str, str, bool]]) -> pd.DataFrame:
    """(client, product, event type, day, gift) rows as an events frame."""
    return pd.DataFrame(
        {
            "client_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "timestamp": pd.to_datetime([r[3] for r in rows]),
            "is_gift": [r[4] for r in rows],
        }
    )


def _counts(events: pd.DataFrame, window: int) -> TransitionCounts:
    clients = IdMap(sorted(events["client_id"].unique()), "client")
    products = IdMap(PRODUCTS, "product")
    ev = event_arrays(
        events,
        rows=codes_in(events["client_id"], clients.index),
        product_ids=products,
        as_of=fit_date(AS_OF),
        clip_future=False,
    )
    return transition_counts(ev, len(PRODUCTS), window)


TINY = _events(
    [
        # a: p1 -> p2 -> p3, p1 bought again later (its first purchase counts)
        ("a", "p1", "purchase", "2026-01-01", False),
        ("a", "p2", "purchase", "2026-02-01", False),
        ("a", "p4", "view", "2026-02-15", False),  # browsing leads nowhere
        ("a", "p1", "purchase", "2026-02-20", False),
        ("a", "p3", "purchase", "2026-03-01", False),
        # b: p1 -> p3; a gift of p2 in between is someone else's taste
        ("b", "p3", "purchase", "2026-04-01", False),
        ("b", "p2", "purchase", "2026-03-01", True),
        ("b", "p1", "purchase", "2026-01-10", False),
        # c: p2, then p4 after the fit date (the future of a split)
        ("c", "p2", "purchase", "2026-05-01", False),
        ("c", "p4", "purchase", "2026-07-01", False),
    ]
)


def test_transition_counts_of_tiny_exact_data() -> None:
    one = _counts(TINY, window=1)
    assert one.buyers.tolist() == [2, 2, 2, 0]  # p1: a, b; p2: a, c; p3: a, b
    dense = one.pairs.toarray()
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 1] = 1  # a: p1 -> p2
    expected[1, 2] = 1  # a: p2 -> p3
    expected[0, 2] = 1  # b: p1 -> p3 (the gift skipped)
    np.testing.assert_array_equal(dense, expected)
    two = _counts(TINY, window=2).pairs.toarray()
    expected[0, 2] = 2  # a's p1 -> p3 is two steps on
    np.testing.assert_array_equal(two, expected)
    assert _counts(TINY, window=0).pairs.nnz == 0


def test_counts_do_not_depend_on_the_order_of_the_rows_and_add_over_clients() -> None:
    shuffled = TINY.sample(frac=1.0, random_state=3)
    whole = _counts(shuffled, window=2)
    np.testing.assert_array_equal(whole.pairs.toarray(), _counts(TINY, 2).pairs.toarray())
    parts = [_counts(TINY[TINY["client_id"] == c], window=2) for c in ("a", "b", "c")]
    summed = parts[0] + parts[1] + parts[2]
    np.testing.assert_array_equal(summed.pairs.toarray(), whole.pairs.toarray())
    np.testing.assert_array_equal(summed.buyers, whole.buyers)


def test_the_matrix_is_the_shrunk_share_of_buyers_who_went_on() -> None:
    flows = {(0, 2): 6, (0, 1): 3, (1, 2): 2, (2, 0): 0}
    counts = TransitionCounts(_pairs(flows).pairs, np.array([8, 5, 4, 0]))
    t = transition_matrix(counts, k=5, shrinkage=1.0).toarray()
    assert t[0, 2] == pytest.approx(6 / (8 + 1.0))  # 6 of p1's 8 buyers went on to p3
    assert t[0, 1] == pytest.approx(3 / 9)
    assert t[1, 2] == 0.0  # two clients are too few to say "often" (MIN_STEP_CLIENTS)
    assert t[2, 0] == 0.0  # directional
    top1 = transition_matrix(counts, k=1, shrinkage=1.0).toarray()
    assert top1[0].tolist() == [0.0, 0.0, pytest.approx(6 / 9), 0.0]  # the strongest kept


def _pairs(flows: dict[tuple[int, int], int], n: int = 4) -> TransitionCounts:
    pairs = np.zeros((n, n), dtype=np.int64)
    for (a, b), k in flows.items():
        pairs[a, b] = k
    return TransitionCounts(sp.csr_matrix(pairs), pairs.sum(axis=1))


def test_directionality_is_one_for_one_way_flows_and_near_zero_for_coin_tosses() -> None:
    assert directionality(_pairs({(0, 1): 20, (2, 3): 8})) == pytest.approx(1.0)
    # 10 each way: less lopsided than coins would be, so nothing to read.
    assert directionality(_pairs({(0, 1): 10, (1, 0): 10})) == 0.0
    # Too few clients per pair to tell direction from chance.
    assert directionality(_pairs({(0, 1): 4, (2, 3): 3})) == 0.0
    # n = 6 split 5 / 1: |5 - 1| = 4 against E|2X - 6| = 1.875 for a coin.
    expected = (4 - 1.875) / (6 - 1.875)
    assert directionality(_pairs({(0, 1): 5, (1, 0): 1})) == pytest.approx(expected)


# ------------------------------------------------------------- in the hybrid
@pytest.fixture(scope="module")
def maison() -> tuple[Dataset, pd.DataFrame]:
    m = generate_maison(n_clients=3000, n_products=400, seed=11)
    return Dataset.from_frames(**m.tables), m.truth["next_steps"]


@pytest.fixture(scope="module")
def models(maison: tuple[Dataset, pd.DataFrame]) -> dict[str, HybridRecommender]:
    ds, _ = maison
    return {
        "next_step": HybridRecommender(EngineConfig(sequence_weight=2.0)).fit(ds),
        "order_blind": HybridRecommender(EngineConfig(sequence_weight=0.0)).fit(ds),
    }


def _cases(ds: Dataset, steps: pd.DataFrame, *, forward: bool) -> list[tuple[str, str]]:
    """(client, product): clients who bought (and kept) one piece of a planted pair but not the other.

    ``forward``: they bought the entry piece, the product is its signature
    piece; otherwise the reverse.
    """
    ev = ds.events
    own = ev[(ev["event_type"] == "purchase") & ~ev["is_gift"].astype(bool)]
    back = ev[ev["event_type"] == "return"]
    returned = set(zip(back["client_id"], back["product_id"], strict=True))
    pairs_of = zip(own["client_id"], own["product_id"], strict=True)
    kept = own[[pair not in returned for pair in pairs_of]]
    bought = kept.groupby("client_id")["product_id"].agg(set)
    pairs = zip(steps["product_id"], steps["next_product_id"], strict=True)
    lead = dict(pairs) if forward else {b: a for a, b in pairs}
    return [
        (str(c), lead[p])
        for c, items in bought.items()
        for p in sorted(items)
        if p in lead and lead[p] not in items
    ]


def _ranks(model: HybridRecommender, ds: Dataset, cases: list[tuple[str, str]]) -> np.ndarray:
    clients = sorted({c for c, _ in cases})
    scores = model.score_clients(clients)
    at = {c: i for i, c in enumerate(clients)}
    cols = ds.product_ids.to_internal([p for _, p in cases])
    rows = np.array([at[c] for c, _ in cases])
    mine = scores[rows, cols]
    return np.asarray((scores[rows] > mine[:, None]).sum(axis=1) + 1)


def test_the_planted_next_step_ranks_far_above_the_order_blind_rank(maison, models) -> None:
    ds, steps = maison
    cases = _cases(ds, steps, forward=True)
    assert len(cases) >= 200
    with_block = _ranks(models["next_step"], ds, cases)
    blind = _ranks(models["order_blind"], ds, cases)
    # Measured: median rank 48 -> 27, in the top 20 for 21 % -> 43 % of the cases,
    # mean reciprocal rank 0.050 -> 0.140.
    assert np.median(with_block) < 0.7 * np.median(blind)
    assert np.mean(with_block <= 20) > np.mean(blind <= 20) + 0.15
    assert np.mean(1 / with_block) > 1.5 * np.mean(1 / blind)


def test_the_block_points_forward_not_back(maison, models) -> None:
    ds, steps = maison
    t = models["next_step"].sequence_
    entry = ds.product_ids.to_internal(steps["product_id"])
    signature = ds.product_ids.to_internal(steps["next_product_id"])
    forward = np.asarray(t[entry, signature]).ravel()
    back = np.asarray(t[signature, entry]).ravel()
    assert forward.mean() > 5 * back.mean()
    # A signature piece's buyers are not sent back to the entry piece by this block.
    cases = _cases(ds, steps, forward=False)
    with_block = _ranks(models["next_step"], ds, cases)
    blind = _ranks(models["order_blind"], ds, cases)
    assert np.median(with_block) >= 0.9 * np.median(blind)


def _led(model: HybridRecommender, ds: Dataset, steps: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(client, signature piece, entry piece bought) where buyers of the entry piece went on to it.

    Some signature pieces launch after the fit date: nobody could buy them yet.
    """
    entry_of = dict(zip(steps["next_product_id"], steps["product_id"], strict=True))
    out = []
    for client, product in _cases(ds, steps, forward=True):
        e, s = ds.product_ids.to_internal([entry_of[product], product])
        if model.sequence_[e, s] > 0:
            out.append((client, product, entry_of[product]))
    return out


def test_the_block_is_an_exact_sum_over_past_purchases(maison, models) -> None:
    ds, steps = maison
    model, blind = models["next_step"], models["order_blind"]
    led = _led(model, ds, steps)
    assert len(led) >= 100
    for client, product, entry in led[:10]:
        (expl,) = model.explain_many(client, [product])
        parts = [c for c in expl.contributions if c.kind == "sequence"]
        assert entry in {c.source for c in parts}
        assert all(c.component == "cf" and c.event_type == "purchase" for c in parts)
        # The other blocks do not depend on this one: the score it adds is its parts' sum.
        col = ds.product_ids.to_internal([product])[0]
        added = model.score_clients([client])[0, col] - blind.score_clients([client])[0, col]
        assert sum(c.value for c in parts) == pytest.approx(added, rel=1e-9, abs=1e-12)
        assert expl.total == pytest.approx(expl.score, rel=1e-9)


def test_the_reasons_name_the_purchase_that_leads_on(maison, models) -> None:
    ds, steps = maison
    model = models["next_step"]
    for client, product, _ in _led(model, ds, steps)[:40]:
        (expl,) = model.explain_many(client, [product])
        top = max((c for c in expl.contributions if c.kind == "sequence"), key=lambda c: c.value)
        if top.value < sorted(c.value for c in expl.contributions)[-3]:
            continue  # not among the reasons shown
        name = ds.products.set_index("product_id").loc[top.source, "name"]
        row = ds.clients.set_index("client_id").loc[client]
        said = associate_reasons(expl, ds, row)
        assert f"Clients who bought the {name} often went on to this" in said
        told = " ".join(client_reasons(expl, ds, row))
        assert "Clients who bought" not in told  # other clients are never mentioned
        return
    pytest.fail("no planted next step among its top three parts")


def test_without_purchases_in_sequence_the_block_is_silent() -> None:
    events = _events([("a", "p1", "view", "2026-01-01", False)])
    products = pd.DataFrame({"product_id": PRODUCTS, "name": PRODUCTS, "category": "bags"})
    ds = Dataset.from_frames(products, events)
    model = HybridRecommender(EngineConfig(n_factors=2)).fit(ds, as_of=AS_OF)
    assert model.sequence_.nnz == 0
    (expl,) = model.explain_many("a", ["p2"])
    assert not [c for c in expl.contributions if c.kind == "sequence"]
