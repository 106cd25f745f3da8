"""The generated maison's planted image embeddings: close where the attributes are shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.dataset import Dataset, load_dataset
from core.data.embeddings import EMBEDDINGS_TABLE
from core.data.generate import generate_maison, write_maison
from core.data.generate.embeddings import EMBEDDING_DIM, VISUAL_ATTRIBUTES, plant_embeddings


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_frames(
        **generate_maison(n_clients=100, n_products=300, seed=5, embeddings=True).tables
    )


def _shares_an_attribute(dataset: Dataset) -> np.ndarray:
    p = dataset.products
    n = len(p)
    same = np.zeros((n, n), dtype=bool)
    for attribute in VISUAL_ATTRIBUTES:
        values = p[attribute].astype(str).to_numpy()
        same |= values[:, None] == values[None, :]
    np.fill_diagonal(same, False)
    return same


def test_top5_visual_neighbours_share_an_attribute_far_above_chance(dataset: Dataset) -> None:
    e = dataset.embeddings
    assert e.shape == (len(dataset.products), EMBEDDING_DIM)
    sims = e @ e.T
    np.fill_diagonal(sims, -np.inf)
    top5 = np.argsort(-sims, axis=1, kind="stable")[:, :5]
    same = _shares_an_attribute(dataset)
    n = len(same)
    hit_rate = same[np.arange(n)[:, None], top5].mean()
    chance = same.sum() / (n * (n - 1))
    assert hit_rate > 3 * chance, (hit_rate, chance)
    assert hit_rate > 0.5


def test_planting_is_deterministic_and_leaves_the_other_tables_alone() -> None:
    a = generate_maison(n_clients=20, n_products=60, seed=1, embeddings=True)
    b = generate_maison(n_clients=20, n_products=60, seed=1)
    assert set(a.tables) - set(b.tables) == {EMBEDDINGS_TABLE}
    for name, table in b.tables.items():
        assert table.equals(a.tables[name]), name
    again = plant_embeddings(b.tables["products"], 1)
    np.testing.assert_array_equal(
        np.vstack(list(again["embedding"])),
        np.vstack(list(a.tables[EMBEDDINGS_TABLE]["embedding"])),
    )


def test_write_maison_writes_the_table_unless_asked_not_to(tmp_path: Path) -> None:
    counts = write_maison(tmp_path, n_clients=20, n_products=60, seed=1)
    assert counts[EMBEDDINGS_TABLE] == 60
    assert load_dataset(tmp_path).embeddings.shape == (60, EMBEDDING_DIM)
    counts = write_maison(tmp_path, n_clients=20, n_products=60, seed=1, embeddings=False)
    assert EMBEDDINGS_TABLE not in counts
    assert not (tmp_path / f"{EMBEDDINGS_TABLE}.parquet").exists()
    assert load_dataset(tmp_path).product_embeddings is None


def test_the_partitioned_products_side_carries_the_table(tmp_path: Path) -> None:
    from core.data.partitioned.reader import products_dataset

    write_maison(tmp_path, n_clients=20, n_products=60, seed=1, fmt="partitioned")
    assert products_dataset(tmp_path).embeddings.shape == (60, EMBEDDING_DIM)


def test_the_cli_can_leave_the_table_out(tmp_path: Path) -> None:
    from core.cli import main

    args = ["generate", "--out", str(tmp_path), "--clients", "20", "--products", "60"]
    assert main([*args, "--no-embeddings"]) == 0
    assert not (tmp_path / f"{EMBEDDINGS_TABLE}.parquet").exists()
    assert main(args) == 0
    assert (tmp_path / f"{EMBEDDINGS_TABLE}.parquet").exists()
