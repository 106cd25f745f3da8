"""Product features on tiny catalogues where every value is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.engine.config import EngineConfig
from core.engine.features import ProductFeatures
from core.exceptions import NotFittedError

ONLY_ATTRIBUTES = EngineConfig(
    tag_weight=0.0, text_weight=0.0, price_weight=0.0, flag_weight=0.0, tfidf_min_df=1
)


def _products() -> pd.DataFrame:
    # No material column at all; subcategory present but empty everywhere.
    return pd.DataFrame(
        {
            "product_id": ["a", "b", "c"],
            "name": ["Tote", "Boot", "Ring"],
            "designer": ["Halden", "Kaito", "Halden"],
            "category": ["bags", "shoes", "jewellery"],
            "subcategory": ["", "", ""],
            "color": ["black", "", "gold"],
            "price": [2000.0, 800.0, 5000.0],
            "style_tags": ["minimal|classic", "edgy", ""],
            "description": ["a black calfskin tote", "black leather boots", "a gold ring"],
            "sustainable": [True, False, False],
            "limited_edition": [False, False, False],
        }
    )


def _row(features: ProductFeatures, matrix, i: int) -> dict[str, float]:
    row = matrix[i]
    return {
        str(features.feature_names_[j]): float(v)
        for j, v in zip(row.indices, row.data, strict=True)
    }


def test_feature_names_skip_missing_and_empty_columns() -> None:
    pf = ProductFeatures(EngineConfig(tfidf_min_df=1, n_price_bands=2)).fit(_products())
    names = list(pf.feature_names_)
    assert names[:7] == [
        "designer=Halden",
        "designer=Kaito",
        "category=bags",
        "category=jewellery",
        "category=shoes",
        "color=black",
        "color=gold",
    ]
    assert not any(n.startswith(("material=", "subcategory=", "collection=")) for n in names)
    assert {"tag=classic", "tag=edgy", "tag=minimal"} <= set(names)
    assert {"word=black", "word=calfskin", "word=gold"} <= set(names)
    assert "word=a" not in names  # stop words and one-letter words are dropped
    assert [n for n in names if n.startswith("price_band=")] == ["price_band=1", "price_band=2"]
    assert [n for n in names if n.startswith("flag=")] == ["flag=sustainable"]
    assert pf.n_features_ == len(names)


def test_one_hot_values_are_exact() -> None:
    pf = ProductFeatures(ONLY_ATTRIBUTES)
    m = pf.fit_transform(_products())
    third = 1 / math.sqrt(3)
    assert _row(pf, m, 0) == pytest.approx(
        {"designer=Halden": third, "category=bags": third, "color=black": third}
    )
    # An empty colour adds nothing to its row.
    half = 1 / math.sqrt(2)
    assert _row(pf, m, 1) == pytest.approx({"designer=Kaito": half, "category=shoes": half})


def test_rows_are_unit_norm_and_blocks_weighted() -> None:
    config = EngineConfig(tfidf_min_df=1, n_price_bands=2, tag_weight=2.0)
    pf = ProductFeatures(config)
    m = pf.fit_transform(_products())
    np.testing.assert_allclose(np.sqrt(m.multiply(m).sum(axis=1)).A1, 1.0)
    row = _row(pf, m, 1)  # one tag, so its block is exactly tag_weight before the row norm
    ratio = row["tag=edgy"] / row["designer=Kaito"]
    assert ratio == pytest.approx(2.0)


def test_price_bands_are_quantiles() -> None:
    products = pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(8)],
            "name": "x",
            "category": ["bags"] * 4 + ["rings"] * 4,
            "price": [100.0, 200.0, 300.0, 400.0, 1000.0, 2000.0, 3000.0, 4000.0],
        }
    )
    per_cat = ProductFeatures(EngineConfig(n_price_bands=2)).fit(products)
    assert per_cat.category_price_edges_ == {"bags": [250.0], "rings": [2500.0]}
    bands = per_cat._price_bands(products)
    np.testing.assert_array_equal(bands, [0, 0, 1, 1, 0, 0, 1, 1])
    overall = ProductFeatures(EngineConfig(n_price_bands=2, price_bands_per_category=False))
    overall.fit(products)
    np.testing.assert_array_equal(overall._price_bands(products), [0, 0, 0, 0, 1, 1, 1, 1])


def test_unseen_values_add_nothing() -> None:
    pf = ProductFeatures(ONLY_ATTRIBUTES).fit(_products())
    new = _products().iloc[:1].assign(designer="Unknown House", color="mauve")
    assert _row(pf, pf.transform(new), 0) == pytest.approx({"category=bags": 1.0})


def test_preference_vector() -> None:
    pf = ProductFeatures(EngineConfig(tfidf_min_df=1, n_price_bands=2)).fit(_products())
    client = {
        "pref_designers": "halden|Nobody",  # case-insensitive; unknown ignored
        "pref_categories": "",
        "pref_colors": "black|gold",
        "pref_materials": "cashmere",  # the catalogue has no materials
        "price_min": None,
        "price_max": 1000.0,
    }
    vec = pf.preference_vector(client)
    row = _row(pf, vec, 0)
    assert set(row) == {"designer=Halden", "color=black", "color=gold", "price_band=1"}
    # Each attribute weighs the same, shared among its values.
    assert row["color=black"] == pytest.approx(row["designer=Halden"] / math.sqrt(2))
    assert float(np.sqrt(vec.multiply(vec).sum())) == pytest.approx(1.0)
    assert pf.preference_vector({}).nnz == 0


def test_state_round_trip() -> None:
    pf = ProductFeatures(EngineConfig(tfidf_min_df=1)).fit(_products())
    arrays, meta = pf.get_state()
    back = ProductFeatures.from_state(arrays, meta, EngineConfig(tfidf_min_df=1))
    assert list(back.feature_names_) == list(pf.feature_names_)
    diff = back.transform(_products()) - pf.transform(_products())
    assert abs(diff).max() == 0


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        ProductFeatures().transform(_products())


def _priced_products() -> pd.DataFrame:
    """Two categories with their own price bands: bags cheap, shoes dear."""
    prices = {"bags": [100.0, 200.0, 300.0, 400.0], "shoes": [1000.0, 2000.0, 3000.0, 4000.0]}
    rows = [
        {"product_id": f"{c}{i}", "designer": "Halden", "category": c, "price": p}
        for c, ps in prices.items()
        for i, p in enumerate(ps)
    ]
    return pd.DataFrame(rows)


def test_a_price_range_shares_its_bands_among_the_listed_categories_as_often_as_listed() -> None:
    pf = ProductFeatures(EngineConfig(n_price_bands=2, tfidf_min_df=1)).fit(_priced_products())
    assert set(pf.category_price_edges_) == {"bags", "shoes"}
    bags, shoes = pf.category_price_edges_["bags"][0], pf.category_price_edges_["shoes"][0]
    assert bags < 300 and shoes > 1500  # 300-1500: the dear bags, the cheap shoes
    client = {"pref_categories": "bags|BAGS|shoes", "price_min": 300, "price_max": 1500}
    row = _row(pf, pf.preference_vector(client), 0)
    # bags listed twice: band 2 in 2 of 3 listings, band 1 in 1 (then L2-normalised,
    # alongside the category cells)
    band1, band2 = row["price_band=1"], row["price_band=2"]
    assert band2 == pytest.approx(2 * band1)
    # no category listed: every category's bands, one each
    alone = _row(pf, pf.preference_vector({"price_min": 300, "price_max": 1500}), 0)
    assert alone == pytest.approx({"price_band=1": math.sqrt(0.5), "price_band=2": math.sqrt(0.5)})
    # an open end is unbounded; a missing range declares no band
    assert set(_row(pf, pf.preference_vector({"price_max": 150.0}), 0)) == {"price_band=1"}
    assert pf.preference_vector({"price_min": None, "price_max": float("nan")}).nnz == 0


def test_a_table_of_clients_gives_each_clients_own_row() -> None:
    """The vectorised table (many clients) and one client's row agree, hostile values included."""
    pf = ProductFeatures(EngineConfig(n_price_bands=2, tfidf_min_df=1)).fit(_priced_products())
    odd = [
        {"pref_designers": "  HALDEN |halden| nobody||", "pref_categories": "Bags|bags|zzz"},
        {"pref_categories": "shoes", "price_min": "not a number", "price_max": 2500.0},
        {"pref_designers": 12345, "price_min": 1e308, "price_max": -5.0},
        {"pref_designers": "<script>alert(1)</script>|Halden", "price_min": np.nan},
        {"pref_categories": None, "price_max": None},
        {"pref_designers": "", "pref_categories": "   "},
        {},
    ]
    clients = pd.DataFrame((odd * 20)[:100])  # more than a request's few rows: the table path
    table = pf.preference_matrix(clients)
    assert table.shape == (100, pf.n_features_)
    for i, row in enumerate(clients.to_dict("records")):
        one = pf.preference_vector(row)
        np.testing.assert_array_equal(table[i].indices, one.indices)
        np.testing.assert_allclose(table[i].data, one.data, rtol=1e-15)
    assert _row(pf, table, 0) == pytest.approx(
        {"designer=Halden": math.sqrt(0.5), "category=bags": math.sqrt(0.5)}
    )
    assert table[5].nnz == 0 and table[6].nnz == 0
