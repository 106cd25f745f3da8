"""The scale-out fit on a real LocalCluster: two worker processes on loopback, one of them killed.

The model built on the cluster must equal the one-process run of the same
algorithm (the block SVD on the whole matrix): same top-10 products and
scores to 1e-6 for clients scored from their events. Against the usual
in-memory fit, whose randomized SVD is scikit-learn's (another random
method: trailing factors of a flat spectrum are pinned by neither), the
spectra are compared (tests/engine/test_scale_fit.py compares the subspaces).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.cli import main
from core.data.dataset import Dataset, load_dataset
from core.data.partitioned.reader import products_dataset
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import load_model
from core.engine.scale import cluster as scale_cluster
from core.engine.scale import reduce
from core.engine.scale.cluster import fit_on_dask, local_workers
from core.exceptions import ConfigError
from tests.engine.scale_data import (
    clients_with_events,
    one_process_block_fit,
    partitioned_maison,
    served,
)

distributed = pytest.importorskip("distributed")

N_CLIENTS, N_PRODUCTS, SEED, BUCKETS = 1200, 200, 17, 6
CONFIG = EngineConfig()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("maison")
    return partitioned_maison(out, N_CLIENTS, N_PRODUCTS, SEED, BUCKETS)


@pytest.fixture(scope="module")
def dataset(folder: Path) -> Dataset:
    return load_dataset(folder)


@pytest.fixture(autouse=True)
def plain_main(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``__main__`` with nothing to re-run, while worker processes start.

    Dask starts workers by spawn, which re-runs the parent's ``__main__`` by
    path; an AppTest run earlier in the same pytest process leaves its
    generated script there, and re-running that script outside AppTest fails.
    """
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


@pytest.fixture
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as c:  # fmt: skip
        yield c


def test_the_cluster_fit_recommends_as_the_one_process_run(
    cluster: Any, folder: Path, dataset: Dataset, tmp_path: Path
) -> None:
    with distributed.Client(cluster) as client:
        model = fit_on_dask(folder, client, CONFIG, out=tmp_path / "model")
    ref = one_process_block_fit(dataset, CONFIG)
    np.testing.assert_allclose(model.item_factors_, ref.item_factors_, atol=1e-8)
    for client_id in clients_with_events(dataset):
        view, events = served(model, dataset, client_id)
        got = view.recommend(client_id, 10, extra_events=events)
        want = ref.recommend(client_id, 10)
        assert got["product_id"].tolist() == want["product_id"].tolist(), client_id
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6, atol=1e-9)
        (why,) = view.explain_many(client_id, got["product_id"].tolist()[:1], events)
        assert why.total == pytest.approx(why.score, rel=1e-9, abs=1e-9)
    in_memory = HybridRecommender(CONFIG).fit(dataset)
    np.testing.assert_allclose(
        model.singular_values_[:10], in_memory.singular_values_[:10], rtol=0.01
    )
    loaded = load_model(tmp_path / "model", products_dataset(folder))
    np.testing.assert_allclose(loaded.item_factors_, model.item_factors_)


@pytest.mark.parametrize("scatter_bytes", [reduce.SCATTER_BYTES, 0], ids=["in-graph", "scattered"])
def test_a_worker_killed_mid_fit_the_fit_completes_with_the_same_model(
    cluster: Any, folder: Path, dataset: Dataset, scatter_bytes: int, monkeypatch: Any
) -> None:
    # "scattered": every pass's arguments go to the workers by Client.scatter, as
    # the products-side matrices of a large catalogue do; a killed worker's copies
    # must not be the only ones.
    monkeypatch.setattr(reduce, "SCATTER_BYTES", scatter_bytes)
    result: dict[str, Any] = {}
    with distributed.Client(cluster) as client:

        def run() -> None:
            try:
                result["model"] = fit_on_dask(folder, client, CONFIG)
            except BaseException as err:  # reported below
                result["error"] = err

        fit = threading.Thread(target=run)
        fit.start()
        # Wait until row blocks are held on the workers, then kill the process of one of them.
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and fit.is_alive() and time.monotonic() < deadline:
            for address, keys in client.has_what().items():
                if any(str(k).startswith("atelier-block") for k in keys):
                    victim = address
                    break
            time.sleep(0.05)
        assert victim is not None, "the fit never held a block on a worker"
        pids = client.run(os.getpid, workers=[victim])
        os.kill(pids[victim], signal.SIGKILL)
        fit.join(timeout=300)
        assert not fit.is_alive()
    assert "error" not in result, result.get("error")
    ref = one_process_block_fit(dataset, CONFIG)
    np.testing.assert_allclose(result["model"].item_factors_, ref.item_factors_, atol=1e-8)


def test_fit_command_on_a_local_cluster(folder: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "model"
    assert main(["--data", str(folder), "fit", "--dask", "local:1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "product-side model, fit id" in printed
    # Not a terminal: a line per step, none of the progress bar's carriage-return frames.
    assert "\r" not in printed and "tasks done in" in printed
    assert isinstance(load_model(out, products_dataset(folder)), HybridRecommender)


def test_addresses_are_checked() -> None:
    assert local_workers("local") == 2
    assert local_workers("local:3") == 3
    assert local_workers("tcp://10.0.0.5:8786") is None
    with pytest.raises(ConfigError, match="number of workers"):
        local_workers("local:many")


def test_an_address_where_no_scheduler_answers_is_named(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale_cluster, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ConfigError, match="tcp://127.0.0.1:9.*no Dask scheduler answered"):
        fit_on_dask(folder, "tcp://127.0.0.1:9")


def test_a_large_argument_is_scattered_once_not_sent_in_the_graph(cluster: Any) -> None:
    big = np.arange(300_000, dtype=np.float64)  # 2.4 MB, over reduce.SCATTER_BYTES
    with distributed.Client(cluster) as client:
        reducer = reduce.DaskReducer(lambda i: np.full(big.size, float(i)), range(4), client)
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*large graph")  # Dask's warning
            total = reducer.map_sum(np.multiply, big)
            (finished,) = reducer.map_sums(np.multiply, [(big,)], lambda s, b: float(s @ b))
    np.testing.assert_array_equal(total, 6.0 * big)  # (0 + 1 + 2 + 3) * big
    assert finished == pytest.approx(6.0 * float(big @ big))
