"""Saving and loading models, and the engine config that travels with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models.content import ContentRecommender
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import (
    ARRAYS_FILE,
    META_FILE,
    ModelFileError,
    load_model,
    read_model_info,
    save_model,
    without_clients,
)
from core.engine.models.svd import SVDRecommender
from core.exceptions import ConfigError, ModelMismatchError, NotFittedError, UnknownIdError

CONFIG = EngineConfig(n_factors=16, seed=5)
CLASSES = [HybridRecommender, SVDRecommender, ContentRecommender]


@pytest.fixture(scope="module")
def maison():
    return generate_maison(n_clients=200, n_products=120, seed=2)


@pytest.fixture(scope="module")
def dataset(maison) -> Dataset:
    return Dataset.from_frames(**maison.tables)


@pytest.fixture(scope="module")
def hybrid(dataset: Dataset) -> HybridRecommender:
    return HybridRecommender(CONFIG).fit(dataset)


# ------------------------------------------------------------------ models
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_round_trip_gives_identical_suggestions(cls, dataset: Dataset, tmp_path: Path) -> None:
    model = cls(CONFIG).fit(dataset)
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model", dataset)
    assert type(loaded) is cls and loaded.config == CONFIG
    clients = dataset.clients["client_id"].tolist()
    np.testing.assert_array_equal(loaded.score_clients(clients), model.score_clients(clients))
    client, product = clients[3], str(dataset.products["product_id"].iloc[7])
    assert loaded.explain(client, product) == model.explain(client, product)
    pd.testing.assert_frame_equal(
        loaded.recommend(client, 10, exclude_seen=True),
        model.recommend(client, 10, exclude_seen=True),
    )
    extra = pd.DataFrame({"client_id": [client], "product_id": [product], "event_type": ["view"]})
    np.testing.assert_array_equal(
        loaded.score_clients([client], extra), model.score_clients([client], extra)
    )


@pytest.mark.parametrize("normalization", ["none", "bm25"])
def test_round_trip_keeps_the_popularity_damping(
    normalization: str, dataset: Dataset, tmp_path: Path
) -> None:
    config = CONFIG.with_updates(item_normalization=normalization, popularity_exponent=0.7)
    model = HybridRecommender(config).fit(dataset)
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model", dataset)
    assert loaded.config.popularity_exponent == 0.7
    client = str(dataset.events["client_id"].iloc[0])
    product = str(dataset.products["product_id"].iloc[5])
    extra = pd.DataFrame({"client_id": [client], "product_id": [product], "event_type": ["view"]})
    np.testing.assert_array_equal(
        loaded.score_clients([client], extra), model.score_clients([client], extra)
    )
    # the damping changes the suggestions (it is not a no-op)
    plain = HybridRecommender(CONFIG.with_updates(item_normalization=normalization)).fit(dataset)
    assert not np.array_equal(plain.score_clients([client]), model.score_clients([client]))


def test_hybrid_round_trip_keeps_taste_and_embedding(hybrid, dataset, tmp_path: Path) -> None:
    save_model(hybrid, tmp_path / "m")
    loaded = load_model(tmp_path / "m", dataset)
    client = str(dataset.events["client_id"].iloc[0])
    pd.testing.assert_frame_equal(loaded.taste_profile(client), hybrid.taste_profile(client))
    np.testing.assert_array_equal(loaded.item_embedding(), hybrid.item_embedding())


def test_hybrid_round_trip_keeps_the_new_arrival_prior(hybrid, dataset, tmp_path: Path) -> None:
    assert hybrid.new_arrivals_.size > 0  # the generator launches products in the last 30 days
    save_model(hybrid, tmp_path / "m")
    loaded = load_model(tmp_path / "m", dataset)
    np.testing.assert_array_equal(loaded.new_arrivals_, hybrid.new_arrivals_)
    client = str(dataset.events["client_id"].iloc[0])
    product = str(dataset.product_ids.to_external(hybrid.new_arrivals_[:1])[0])
    e = loaded.explain(client, product)
    assert e == hybrid.explain(client, product)
    assert any(c.source == "new_arrival" for c in e.contributions)


def test_a_model_of_an_older_format_is_refused_with_a_refit_hint(
    hybrid, dataset, tmp_path: Path
) -> None:
    # Format 1 hybrids had no item-neighbour block: they cannot score as today's.
    save_model(hybrid, tmp_path / "m")
    meta_path = tmp_path / "m" / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"format 1.*python -m core fit"):
        load_model(tmp_path / "m", dataset)


def test_metadata(hybrid, dataset, tmp_path: Path) -> None:
    save_model(hybrid, tmp_path / "m")
    info = read_model_info(tmp_path / "m")
    assert info["class"] == "HybridRecommender"
    assert info["fingerprint"] == dataset.fingerprint
    assert EngineConfig.from_dict(info["config"]) == CONFIG
    assert {"numpy", "scipy", "scikit-learn", "pandas", "python"} <= set(info["versions"])
    assert pd.Timestamp(info["created_at"]).tzinfo is not None


def test_other_data_is_refused(hybrid, maison, tmp_path: Path) -> None:
    save_model(hybrid, tmp_path / "m")
    tables = dict(maison.tables)
    tables["events"] = tables["events"].iloc[:-1]
    other = Dataset.from_frames(**tables)
    with pytest.raises(ModelMismatchError, match="python -m core fit") as err:
        load_model(tmp_path / "m", other)
    assert hybrid.dataset_.fingerprint in str(err.value)
    assert other.fingerprint in str(err.value)


def test_save_replaces_atomically(hybrid, dataset, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "stale.txt").write_text("old")
    save_model(hybrid, folder)
    save_model(hybrid, folder)
    assert sorted(p.name for p in folder.iterdir()) == [ARRAYS_FILE, META_FILE]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folders left
    load_model(folder, dataset)


@pytest.mark.parametrize("damage", ["no_folder", "no_meta", "no_arrays", "bad_json", "bytes"])
def test_missing_or_damaged_files(hybrid, dataset, tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "m"
    save_model(hybrid, folder)
    if damage == "no_folder":
        folder = tmp_path / "elsewhere"
    elif damage == "no_meta":
        (folder / META_FILE).unlink()
    elif damage == "no_arrays":
        (folder / ARRAYS_FILE).unlink()
    elif damage == "bad_json":
        (folder / META_FILE).write_text("{not json")
    else:
        data = bytearray((folder / ARRAYS_FILE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / ARRAYS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="python -m core fit"):
        load_model(folder, dataset)


def test_unreadable_arrays_without_checksum(hybrid, dataset, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    save_model(hybrid, folder)
    meta = json.loads((folder / META_FILE).read_text())
    meta.pop("arrays_sha256")
    (folder / META_FILE).write_text(json.dumps(meta))
    (folder / ARRAYS_FILE).write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="could not be read"):
        load_model(folder, dataset)


def test_unfitted_or_unsupported_models_are_not_saved(tmp_path: Path, dataset) -> None:
    with pytest.raises(NotFittedError):
        save_model(HybridRecommender(), tmp_path / "m")

    class Other(SVDRecommender):
        pass

    with pytest.raises(TypeError, match="cannot be saved"):
        save_model(Other(CONFIG).fit(dataset), tmp_path / "m")
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------ config
def test_config_toml_round_trip(tmp_path: Path) -> None:
    config = EngineConfig(n_factors=32, item_normalization="bm25", event_weights={"purchase": 6.0})
    assert config.event_weights["view"] == 1.0  # unspecified weights keep their default
    path = config.to_toml(tmp_path / "engine.toml")
    assert EngineConfig.from_toml(path) == config
    nested = tmp_path / "nested.toml"
    nested.write_text("[engine]\nblend_k = 4.0\n")
    assert EngineConfig.from_toml(nested).blend_k == 4.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("half_life_days = -3", r"half_life_days \(got -3\).*> 0"),
        ("n_factors = 1", r"n_factors.*>= 2 and <= 512"),
        ("item_normalization = 'tfidf'", r"item_normalization.*'none', 'idf', 'bm25'"),
        ("colour = 3", r"unknown key 'colour'"),
        ("[event_weights]\npurchase = 500", r"event_weights.purchase.*between 0 and 100"),
        ("[event_weights]\nstare = 1", r"event_weights.stare.*event type"),
        ("n_factors = ", r"not valid TOML"),
    ],
)
def test_config_errors_name_key_and_range(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        EngineConfig.from_toml(path)


def test_config_is_frozen_and_updates_are_validated() -> None:
    config = EngineConfig()
    with pytest.raises(ValueError):
        config.n_factors = 3  # type: ignore[misc]
    assert config.with_updates(blend_k=2.0).blend_k == 2.0
    with pytest.raises(ConfigError, match="blend_k"):
        config.with_updates(blend_k=-1.0)
    assert hash(config) == hash(EngineConfig())
    # The hash is kept once computed: a hashed config still equals a fresh one.
    assert config == EngineConfig() and EngineConfig() == config
    assert config != config.with_updates(n_factors=8)
    assert len({config, EngineConfig(), config.with_updates(n_factors=8)}) == 2
    with pytest.raises(ConfigError, match="not found"):
        EngineConfig.from_toml("/nonexistent/engine.toml")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_without_clients_drops_their_rows_and_scores_everyone_else_alike(
    cls, dataset: Dataset, tmp_path: Path
) -> None:
    model = cls(CONFIG).fit(dataset)
    clients = dataset.clients["client_id"].tolist()
    gone = set(clients[::7])
    kept = [c for c in clients if c not in gone]
    smaller = Dataset.from_frames(
        dataset.products, dataset.events[~dataset.events["client_id"].isin(gone)],
        clients=dataset.clients[dataset.clients["client_id"].isin(kept)],
        stores=dataset.stores, stock=dataset.stock, associates=dataset.associates,
    )  # fmt: skip
    rebased = without_clients(model, smaller)
    assert rebased.interactions_.shape == (len(kept), len(dataset.product_ids))
    np.testing.assert_allclose(rebased.score_clients(kept), model.score_clients(kept), rtol=1e-6)
    # Folding new events in reads the kept per-cell statistics: same as before.
    extra = dataset.events[dataset.events["client_id"] == kept[0]].head(3).copy()
    extra["timestamp"] = dataset.as_of
    np.testing.assert_allclose(
        rebased.score_clients([kept[0]], extra_events=extra),
        model.score_clients([kept[0]], extra_events=extra),
        rtol=1e-6,
    )
    with pytest.raises(UnknownIdError, match=sorted(gone)[0]):
        rebased.recommend(sorted(gone)[0], 5)
    save_model(rebased, tmp_path / "model")  # saved for the smaller data, it loads for it
    assert read_model_info(tmp_path / "model")["fingerprint"] == smaller.fingerprint
    np.testing.assert_array_equal(
        load_model(tmp_path / "model", smaller).score_clients(kept), rebased.score_clients(kept)
    )
    with pytest.raises(UnknownIdError):  # a client it was not fitted on
        without_clients(rebased, dataset)
