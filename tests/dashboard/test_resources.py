"""What the dashboard process keeps of a house: the data and model in service, not every earlier one.

A long-running dashboard sees its data change (an import, an erasure, files
replaced): each change is a new dataset and a new model. The ones they replace
must be let go, or memory grows with every change and an erased client's rows
stay in the process.
"""

from __future__ import annotations

import gc
import shutil
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from core.app import bootstrap
from core.settings import Settings
from dashboard import resources


@pytest.fixture
def own_folder(atelier_maison: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the maison's data folder and saved model, served by this test alone."""
    data_dir = tmp_path / "data"
    shutil.copytree(atelier_maison, data_dir)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(data_dir))
    monkeypatch.delenv("ATELIER_MODEL_DIR", raising=False)
    monkeypatch.delenv("ATELIER_SERVE", raising=False)
    return data_dir


def rename_product(data_dir: Path, name: str) -> None:
    """A valid change of the data (a product renamed): a new dataset, a new fingerprint."""
    path = data_dir / "products.csv"
    products = pd.read_csv(path, dtype=str, keep_default_na=False)
    products.loc[0, "name"] = name
    products.to_csv(path, index=False)


def serve(settings: Settings) -> tuple[weakref.ref, weakref.ref, str]:
    """The house in service, with what the pages build of it (a client's events, trends)."""
    dataset = resources.get_dataset(settings)
    model = resources.get_model(dataset, settings)
    client = str(dataset.clients["client_id"].iloc[0])
    assert len(resources.client_events(dataset, client))
    assert resources.store_names(dataset)
    assert resources.get_trend_analyzer(model, dataset, settings).dataset_ is dataset
    return weakref.ref(dataset), weakref.ref(model), dataset.fingerprint


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The heap as the server leaves it after start-up (:func:`resources.settle_heap`).

    What is frozen is out of the collector's sight and freed by reference
    counting alone: a replaced house caught in a reference cycle would never be.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_each_data_change_lets_the_replaced_dataset_and_model_go(own_folder):
    settings = Settings()
    served = [serve(settings)]  # the house at start-up, frozen as the server does
    with frozen_heap():
        for n in range(3):
            rename_product(own_folder, f"Renamed carré {n}")
            served.append(serve(settings))
        gc.collect()  # the later houses' cycles (the first one's are frozen)
        assert len({fingerprint for _, _, fingerprint in served}) == 4  # four houses in turn
        dataset, model, _ = served[-1]
        assert dataset() is resources.get_dataset(settings)  # the one in service is kept
        assert model() is resources.get_model(dataset(), settings)
        assert dataset().products["name"].iloc[0] == "Renamed carré 2"
        for n, (old_dataset, old_model, _) in enumerate(served[:-1]):
            assert old_dataset() is None, f"dataset {n} is still held after it was replaced"
            assert old_model() is None, f"model {n} is still held after it was replaced"


def test_invalid_files_after_a_change_still_fall_back_to_the_last_good_house(own_folder):
    settings = Settings()
    rename_product(own_folder, "Renamed once")
    dataset, model, _ = serve(settings)
    path = own_folder / "products.csv"
    products = pd.read_csv(path, dtype=str, keep_default_na=False)
    products.loc[0, "price"] = "twelve"
    products.to_csv(path, index=False)
    gc.collect()
    assert resources.get_dataset(settings) is dataset()  # the last good data, not an error
    assert resources.get_model(dataset(), settings) is model()


def test_a_retrained_model_lets_the_one_it_replaces_go(own_folder):
    settings = Settings()
    dataset = resources.get_dataset(settings)
    served = [weakref.ref(resources.get_model(dataset, settings))]
    for _ in range(3):  # three retrains of the same data (a new saved generation each)
        before = served[-1]()
        bootstrap.fit_and_save_model(dataset, settings)
        model = resources.get_model(dataset, settings)
        assert model is not before  # the retrained model is served on the next run
        served.append(weakref.ref(model))
        del before, model
    gc.collect()
    assert served[-1]() is resources.get_model(dataset, settings)  # the new one, kept
    for n, old in enumerate(served[:-1]):
        assert old() is None, f"model {n} is still held after a retrain replaced it"
