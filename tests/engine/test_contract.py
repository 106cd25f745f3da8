"""The recommender contract (core.engine.models.base), run on every model.

Each model (hybrid, SVD-only, content-only, popularity global and per store,
item-kNN, random) gets the same checks on tiny hand-made data, where the
expected answer is known exactly.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.config import EngineConfig
from core.engine.models.base import Explanation, Recommender
from core.exceptions import NotFittedError, UnknownIdError

AS_OF = pd.Timestamp("2026-06-01")
TINY = EngineConfig(n_factors=3, tfidf_min_df=1, seed=0)


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model under test."""

    name: str
    module: str
    cls: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    fold_in: bool = True  # extra events change the client's scores

    def factory(self) -> Callable[[], Recommender]:
        cls = getattr(importlib.import_module(self.module), self.cls)
        return lambda: cls(**dict(self.kwargs))


SPECS = [
    ModelSpec("hybrid", "core.engine.models.hybrid", "HybridRecommender", (("config", TINY),)),
    ModelSpec("svd", "core.engine.models.svd", "SVDRecommender", (("config", TINY),)),
    ModelSpec("content", "core.engine.models.content", "ContentRecommender", (("config", TINY),)),
    ModelSpec(
        "popularity",
        "core.engine.models.baselines",
        "PopularityRecommender",
        (("config", TINY),),
        fold_in=False,
    ),
    ModelSpec(
        "popularity_store",
        "core.engine.models.baselines",
        "PopularityRecommender",
        (("per_store", True), ("config", TINY)),
        fold_in=False,
    ),
    ModelSpec(
        "item_knn",
        "core.engine.models.baselines",
        "ItemKNNRecommender",
        (("k_neighbors", 5), ("config", TINY)),
    ),
    ModelSpec("random", "core.engine.models.baselines", "RandomRecommender", (("seed", 1),), False),
]


# --------------------------------------------------------------------- data
def _products(prefix: str = "p") -> pd.DataFrame:
    rows = [
        ("Quiet", "bags", "tote", "calfskin", "black", 2400.0, "minimal|classic", "a black tote"),
        ("Quiet", "bags", "clutch", "calfskin", "camel", 1800.0, "minimal", "a camel clutch"),
        ("Quiet", "knitwear", "sweater", "cashmere", "camel", 1200.0, "minimal|soft", "knit"),
        ("Quiet", "knitwear", "cardigan", "cashmere", "grey", 1300.0, "soft", "a grey cardigan"),
        ("Avant", "shoes", "boot", "leather", "black", 1500.0, "edgy|runway", "black boots"),
        ("Avant", "shoes", "sneaker", "nylon", "white", 700.0, "edgy|sporty", "white sneaker"),
        ("Avant", "ready-to-wear", "jacket", "nylon", "black", 2900.0, "edgy", "nylon jacket"),
        ("Avant", "ready-to-wear", "dress", "silk", "red", 3100.0, "runway", "a red silk dress"),
        ("Heritage", "jewellery", "ring", "gold", "gold", 5200.0, "classic", "a gold ring"),
        ("Heritage", "jewellery", "bracelet", "gold", "gold", 4100.0, "classic", "gold cuff"),
    ]
    cols = [
        "designer",
        "category",
        "subcategory",
        "material",
        "color",
        "price",
        "style_tags",
        "description",
    ]
    df = pd.DataFrame(rows, columns=cols)
    df.insert(0, "product_id", [f"{prefix}{i}" for i in range(len(df))])
    df.insert(1, "name", df["subcategory"])
    df["launch_date"] = AS_OF - pd.Timedelta(days=200)
    return df


def _dataset(prefix: str = "p", client_prefix: str = "c", flip: bool = False) -> Dataset:
    """Six clients: three quiet-luxury, two avant-garde, one with no events (declared taste).

    ``flip`` swaps the tastes, so that a model refitted on it must change its answers.
    """
    quiet, avant = [0, 1, 2, 3], [4, 5, 6, 7]
    if flip:
        quiet, avant = avant, quiet
    day = pd.Timedelta(days=1)
    history = {
        "0": [(quiet[0], "purchase", 30), (quiet[2], "view", 20), (quiet[1], "wishlist", 5)],
        "1": [(quiet[0], "view", 40), (quiet[2], "purchase", 10), (quiet[3], "try_on", 3)],
        "2": [(quiet[1], "purchase", 60), (quiet[3], "purchase", 50), (8, "view", 1)],
        "3": [(avant[0], "purchase", 15), (avant[1], "zoom", 12), (avant[3], "view", 2)],
        "4": [(avant[1], "purchase", 25), (avant[2], "wishlist", 7), (9, "purchase", 90)],
    }
    rows = [
        (f"{client_prefix}{c}", f"{prefix}{p}", t, AS_OF - d * day)
        for c, evs in history.items()
        for p, t, d in evs
    ]
    events = pd.DataFrame(rows, columns=["client_id", "product_id", "event_type", "timestamp"])
    clients = pd.DataFrame(
        {
            "client_id": [f"{client_prefix}{i}" for i in range(6)],
            "first_name": "",
            "last_name": [f"n{i}" for i in range(6)],
            "home_store_id": "online",
            "tier": "client",
            "consent_personalization": True,
            "consent_contact": True,
            "pref_designers": ["", "", "", "", "", "Heritage"],
            "pref_categories": ["", "", "", "", "", "jewellery"],
        }
    )
    return Dataset.from_frames(_products(prefix), events, clients=clients)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return _dataset()


@pytest.fixture(scope="module", params=SPECS, ids=[s.name for s in SPECS])
def spec(request: pytest.FixtureRequest) -> ModelSpec:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fitted(spec: ModelSpec, data: Dataset) -> Recommender:
    return spec.factory()().fit(data)


def _extra(client: str, product: str, event: str = "purchase") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": [client],
            "product_id": [product],
            "event_type": [event],
            "timestamp": [AS_OF],
        }
    )


# ---------------------------------------------------------------- lifecycle
def test_fit_returns_self(spec: ModelSpec, data: Dataset) -> None:
    model = spec.factory()()
    assert model.fit(data) is model
    assert model.dataset_ is data


def test_unfitted_use_raises(spec: ModelSpec) -> None:
    model = spec.factory()()
    for call in (
        lambda: model.recommend("c0", 3),
        lambda: model.recommend_batch(["c0"], 3),
        lambda: model.score_clients(["c0"]),
        lambda: model.similar_products("p0", 3),
        lambda: model.explain("c0", "p0"),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


# ------------------------------------------------------------------ ranking
@pytest.mark.parametrize("client", ["c0", "c3", "c5"])
@pytest.mark.parametrize("k", [1, 4, 10])
def test_recommend_shape_and_order(fitted: Recommender, client: str, k: int) -> None:
    rec = fitted.recommend(client, k)
    assert list(rec.columns) == [COLS.product_id, COLS.score, COLS.rank]
    assert len(rec) == k
    assert rec[COLS.rank].tolist() == list(range(1, k + 1))
    assert rec[COLS.product_id].is_unique
    assert (np.diff(rec[COLS.score].to_numpy()) <= 1e-12).all()
    assert np.isfinite(rec[COLS.score]).all()
    # scores are the model's own
    scores = fitted.score_clients([client])[0]
    idx = fitted.dataset_.product_ids.to_internal(rec[COLS.product_id].tolist())
    np.testing.assert_allclose(rec[COLS.score], scores[idx], rtol=1e-9, atol=1e-12)
    assert scores.shape == (len(fitted.dataset_.product_ids),)


def test_k_larger_than_the_catalogue_returns_everything(fitted: Recommender) -> None:
    rec = fitted.recommend("c1", 50)
    assert len(rec) == 10 and rec[COLS.product_id].is_unique


def test_candidates_restrict_the_output(fitted: Recommender) -> None:
    cands = ["p8", "p2", "p5"]
    rec = fitted.recommend("c0", 10, candidates=cands)
    assert set(rec[COLS.product_id]) == set(cands)
    assert set(fitted.recommend("c0", 2, candidates=cands)[COLS.product_id]) <= set(cands)
    # the order among candidates is the unrestricted order
    full = fitted.recommend("c0", 10)
    assert list(rec[COLS.product_id]) == [p for p in full[COLS.product_id] if p in cands]


def test_exclude_removes(fitted: Recommender) -> None:
    top = fitted.recommend("c2", 3)[COLS.product_id].tolist()
    rec = fitted.recommend("c2", 3, exclude=top[:2])
    assert not set(top[:2]) & set(rec[COLS.product_id])
    assert len(rec) == 3
    assert rec[COLS.product_id][0] == top[2]


def test_exclude_seen_drops_the_clients_products(fitted: Recommender, data: Dataset) -> None:
    mine = set(data.events.loc[data.events["client_id"] == "c0", "product_id"])
    rec = fitted.recommend("c0", 10, exclude_seen=True)
    mask = fitted.seen_mask(["c0"])[0]
    seen = set(fitted.dataset_.product_ids.to_external(np.flatnonzero(mask)))
    assert seen <= mine
    assert not seen & set(rec[COLS.product_id])
    assert len(rec) == 10 - len(seen)


def test_exclude_seen_drops_products_of_the_extra_events_too(
    fitted: Recommender, data: Dataset
) -> None:
    """A client's events passed at request time (a client served per request has only
    those) are "seen" like fitted ones, for models that keep interactions."""
    if getattr(fitted, "interactions_", None) is None:
        pytest.skip(f"{type(fitted).__name__} keeps no interactions: nothing is seen")
    mine = set(data.events.loc[data.events["client_id"] == "c0", "product_id"])
    top = fitted.recommend("c0", 3, exclude_seen=True)["product_id"].tolist()
    new = [p for p in top if p not in mine][:2]
    assert new
    extra = pd.DataFrame({"client_id": "c0", "product_id": new, "event_type": "purchase"})
    mask = fitted.seen_mask(["c0"], extra)[0]
    seen = set(fitted.dataset_.product_ids.to_external(np.flatnonzero(mask)))
    assert set(new) <= seen and seen - set(new) == set(
        fitted.dataset_.product_ids.to_external(np.flatnonzero(fitted.seen_mask(["c0"])[0]))
    )
    rec = fitted.recommend("c0", 10, exclude_seen=True, extra_events=extra)
    assert not set(rec[COLS.product_id]) & seen


def test_candidates_and_exclude_clash(fitted: Recommender) -> None:
    with pytest.raises(ValueError, match=r"both candidates and excluded: p2.*remove them"):
        fitted.recommend("c0", 3, candidates=["p1", "p2"], exclude=["p2"])


@pytest.mark.parametrize("k", [0, -1, 2.0, "3", True, None])
def test_bad_k(fitted: Recommender, k: Any) -> None:
    with pytest.raises(ValueError, match="k must be"):
        fitted.recommend("c0", k)


def test_unknown_ids_are_named(fitted: Recommender) -> None:
    with pytest.raises(UnknownIdError, match="ghost"):
        fitted.recommend("ghost", 3)
    with pytest.raises(UnknownIdError, match="ghost"):
        fitted.score_clients(["c0", "ghost"])
    with pytest.raises(UnknownIdError, match="nope"):
        fitted.recommend("c0", 3, candidates=["p1", "nope"])
    with pytest.raises(UnknownIdError, match="nope"):
        fitted.recommend("c0", 3, exclude=["nope"])
    with pytest.raises(UnknownIdError, match="nope"):
        fitted.similar_products("nope", 3)
    with pytest.raises(UnknownIdError, match="nope"):
        fitted.explain("c0", "nope")
    with pytest.raises(UnknownIdError, match="ghost"):
        fitted.explain("ghost", "p0")
    with pytest.raises(UnknownIdError, match="nope"):
        fitted.score_clients(["c0"], _extra("c0", "nope"))


def test_batch_equals_one_by_one(fitted: Recommender) -> None:
    clients = ["c4", "c0", "c5", "c0"]
    batch = fitted.recommend_batch(clients, 4, exclude=["p9"])
    assert list(batch.columns) == [COLS.client_id, COLS.product_id, COLS.score, COLS.rank]
    for cid, got in batch.groupby(COLS.client_id, sort=False):
        one = fitted.recommend(str(cid), 4, exclude=["p9"])
        expected = pd.concat([one, one]) if cid == "c0" else one
        pd.testing.assert_frame_equal(
            got.drop(columns=[COLS.client_id]).reset_index(drop=True),
            expected.reset_index(drop=True),
            check_dtype=False,
        )
    scores = fitted.score_clients(clients)
    for r, cid in enumerate(clients):
        np.testing.assert_allclose(scores[r], fitted.score_clients([cid])[0], rtol=1e-9, atol=1e-12)
    # The array form is the same list, without a frame.
    products, values = fitted.recommend_arrays("c4", 4, exclude=["p9"])
    one = fitted.recommend("c4", 4, exclude=["p9"])
    assert products.tolist() == one[COLS.product_id].tolist()
    np.testing.assert_array_equal(values, one[COLS.score].to_numpy())


# ------------------------------------------------------------------- state
def test_refit_replaces_state(spec: ModelSpec, data: Dataset) -> None:
    model = spec.factory()().fit(data)
    other = _dataset(prefix="q", client_prefix="d", flip=True)
    model.fit(other)
    assert model.dataset_ is other
    rec = model.recommend("d0", 5)
    assert set(rec[COLS.product_id]) <= set(other.products["product_id"])
    assert model.score_clients(["d0"]).shape == (1, 10)
    with pytest.raises(UnknownIdError, match="c0"):
        model.recommend("c0", 3)
    # a fresh model fitted on the second data gives the same answers
    fresh = spec.factory()().fit(other)
    np.testing.assert_allclose(
        model.score_clients(["d0", "d3", "d5"]),
        fresh.score_clients(["d0", "d3", "d5"]),
        rtol=1e-9,
        atol=1e-12,
    )


def test_deterministic(spec: ModelSpec, data: Dataset) -> None:
    a = spec.factory()().fit(data)
    b = spec.factory()().fit(data)
    clients = ["c0", "c1", "c2", "c3", "c4", "c5"]
    np.testing.assert_array_equal(a.score_clients(clients), b.score_clients(clients))
    pd.testing.assert_frame_equal(a.recommend("c3", 5), b.recommend("c3", 5))


# ------------------------------------------------------------ explanations
def _check_explanation(e: Explanation, score: float) -> None:
    assert e.score == pytest.approx(score, rel=1e-6, abs=1e-9)
    total = sum(c.value for c in e.contributions)
    assert total == pytest.approx(e.score, rel=1e-6, abs=1e-9)
    assert e.total == pytest.approx(e.score, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("client", ["c0", "c3", "c5"])
def test_explanations_add_up_to_the_score(fitted: Recommender, client: str) -> None:
    scores = fitted.score_clients([client])[0]
    for pid in ["p0", "p4", "p8", "p9", *fitted.recommend(client, 3)[COLS.product_id]]:
        j = fitted.dataset_.product_ids.to_internal_one(pid)
        e = fitted.explain(client, pid)
        assert (e.client_id, e.product_id) == (client, pid)
        _check_explanation(e, float(scores[j]))


def test_explanations_with_extra_events(fitted: Recommender) -> None:
    extra = _extra("c3", "p8")
    scores = fitted.score_clients(["c3"], extra)[0]
    for pid in ["p0", "p9"]:
        e = fitted.explain("c3", pid, extra)
        _check_explanation(e, float(scores[fitted.dataset_.product_ids.to_internal_one(pid)]))


def test_item_contributions_name_past_items(
    spec: ModelSpec, fitted: Recommender, data: Dataset
) -> None:
    if not fitted.explains:
        pytest.skip(f"{spec.name} does not decompose over items")
    mine = set(data.events.loc[data.events["client_id"] == "c1", "product_id"])
    e = fitted.explain("c1", "p1")
    items = [c for c in e.contributions if c.kind == "item"]
    assert {c.source for c in items} <= mine
    assert all(c.event_type is not None for c in items)


# ------------------------------------------------------------- similarity
@pytest.mark.parametrize("anchor", ["p0", "p5", "p9"])
def test_similar_products_exclude_the_anchor(fitted: Recommender, anchor: str) -> None:
    sim = fitted.similar_products(anchor, 5)
    assert list(sim.columns) == [COLS.product_id, COLS.score, COLS.rank]
    assert len(sim) == 5
    assert anchor not in set(sim[COLS.product_id])
    assert sim[COLS.product_id].is_unique
    assert (np.diff(sim[COLS.score].to_numpy()) <= 1e-12).all()
    assert len(fitted.similar_products(anchor, 100)) == 9


# --------------------------------------------------------------- fold-in
def test_extra_events_fold_in_without_refit(spec: ModelSpec, fitted: Recommender) -> None:
    before = fitted.score_clients(["c0"])
    extra = _extra("c0", "p6")
    after = fitted.score_clients(["c0"], extra)
    # the fitted state is untouched
    np.testing.assert_array_equal(before, fitted.score_clients(["c0"]))
    if spec.fold_in:
        assert not np.allclose(before, after)
        # an unknown client with events is scored too
        new = fitted.score_clients(["newcomer"], _extra("newcomer", "p6"))
        assert new.shape == (1, 10) and np.isfinite(new).all()
        rec = fitted.recommend("newcomer", 3, extra_events=_extra("newcomer", "p6"))
        assert len(rec) == 3
    else:
        np.testing.assert_allclose(before, after)


def test_arrow_rows_fold_in_as_their_frame(fitted: Recommender) -> None:
    """A client's events as Arrow rows (what a per-client reader returns) give what
    the same events as a DataFrame give: suggestions, seen products, explanations."""
    frame = pd.DataFrame(
        {
            "client_id": ["newcomer", "newcomer", "newcomer", "c2"],
            "product_id": ["p6", "p2", "p7", "p1"],
            "event_type": ["purchase", "view", "purchase", "purchase"],
            "timestamp": [AS_OF - pd.Timedelta(days=40), AS_OF, pd.NaT, AS_OF],
            "is_gift": [False, False, True, False],
        }
    )
    rows = pa.Table.from_pandas(frame, preserve_index=False)
    for client in ("newcomer", "c2"):
        by_rows = fitted.recommend(client, 5, exclude_seen=True, extra_events=rows)
        by_frame = fitted.recommend(client, 5, exclude_seen=True, extra_events=frame)
        pd.testing.assert_frame_equal(by_rows, by_frame)
        top = by_rows[COLS.product_id].tolist()
        if getattr(fitted, "interactions_", None) is not None and client == "newcomer":
            assert "p6" not in top  # bought in the rows: seen
        for pid in top[:2]:
            assert fitted.explain(client, pid, rows) == fitted.explain(client, pid, frame)


@pytest.mark.parametrize(
    "columns",
    [
        {"client_id": ["c0"], "product_id": ["p1"], "event_type": ["stolen"]},
        {"client_id": ["c0"], "event_type": ["view"]},
        {"client_id": ["c0"], "product_id": ["p404"], "event_type": ["view"]},
    ],
    ids=["unknown-event-type", "no-product-column", "unknown-product"],
)
def test_bad_arrow_rows_are_refused_as_their_frame(
    fitted: Recommender, columns: dict[str, list[str]]
) -> None:
    """Arrow rows break a request exactly where the same frame does, with the same message."""
    frame = pd.DataFrame(columns)
    try:
        expected = fitted.recommend("c0", 3, extra_events=frame)
    except (ValueError, UnknownIdError) as exc:
        with pytest.raises(type(exc), match=re.escape(str(exc))):
            fitted.recommend("c0", 3, extra_events=pa.Table.from_pandas(frame))
        assert str(exc)  # names what is wrong
        return
    got = fitted.recommend("c0", 3, extra_events=pa.Table.from_pandas(frame))
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("n", [5, 40, 1_000, 60_000])
def test_top_indices_is_an_exact_top_k(n: int) -> None:
    """The sampled pre-selection never changes the answer: same as a full sort."""
    from core.engine.ranking import top_indices

    rng = np.random.default_rng(n)
    for trial in range(30):
        scores = rng.normal(size=n)
        if trial % 3 == 0:  # many ties
            scores = np.round(scores, 1)
        if trial % 5 == 0:  # masked products, including most of the best ones
            scores[np.argsort(-scores)[: n // 2]] = -np.inf
        if trial % 7 == 0:
            scores[rng.integers(0, n, size=max(1, n // 10))] = np.nan
        for k in (1, 20, 100):
            finite = np.flatnonzero(np.isfinite(scores))
            expected = finite[np.lexsort((finite, -scores[finite]))][:k]
            np.testing.assert_array_equal(top_indices(scores, k), expected)
