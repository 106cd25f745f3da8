"""Retrain: a regressing model is never swapped in (old files untouched); a good one is."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from core.app.retrain import (
    GENERATION_FILE,
    RetrainBusyError,
    RetrainJob,
    RetrainRunner,
    compare,
    guarded_metrics,
    model_generation,
    read_report,
    report_path,
    write_report,
)
from core.data.dataset import load_dataset
from core.data.generate import write_maison
from core.engine.config import EngineConfig
from core.engine.evaluation import evaluate
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import load_model, read_model_info, save_model

# Trend only: every personal block off.
BAD_CONFIG = EngineConfig(
    cf_weight=0.0, item_weight=0.0, content_weight=0.0, new_arrival_weight=0.0
)


@pytest.fixture(scope="module")
def maison(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder and a saved model with its evaluation report (the "current" model)."""
    root = tmp_path_factory.mktemp("retrain")
    data_dir = root / "data"
    write_maison(data_dir, n_clients=600, n_products=120, seed=5)
    dataset = load_dataset(data_dir)
    model_dir = root / "model"
    save_model(HybridRecommender().fit(dataset), model_dir)
    report = evaluate({"hybrid": lambda: HybridRecommender()}, dataset)
    write_report(report, model_dir)
    return data_dir, model_dir


@pytest.fixture
def dirs(maison: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    data_dir, model_dir = maison
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    return data_dir, copy


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(model_dir: Path) -> list[str]:
    return [p.name for p in model_dir.parent.iterdir() if p.name.startswith(f".{model_dir.name}.")]


def test_a_good_retrain_is_swapped_in(dirs):
    data_dir, model_dir = dirs
    before_gen = model_generation(model_dir)
    before_meta = read_model_info(model_dir)
    result = RetrainJob(data_dir, model_dir, include_baselines=False).run()
    assert result.decision == "swapped", result.reason
    assert "no regression" in result.reason
    assert result.after == pytest.approx(result.before, rel=0.02)
    assert result.generation == model_generation(model_dir) != before_gen
    assert (model_dir / GENERATION_FILE).read_text().strip() == "1"
    assert read_model_info(model_dir)["created_at"] >= before_meta["created_at"]
    saved = read_report(model_dir)
    assert (
        saved is not None
        and saved.protocol["data_fingerprint"] == load_dataset(data_dir).fingerprint
    )
    load_model(model_dir, load_dataset(data_dir)).check_is_fitted()
    assert _leftovers(model_dir) == []


def test_a_regressing_model_is_not_swapped_and_old_files_are_untouched(dirs):
    data_dir, model_dir = dirs
    before = _files(model_dir)
    generation = model_generation(model_dir)
    result = RetrainJob(data_dir, model_dir, config=BAD_CONFIG, include_baselines=False).run()
    assert result.decision == "kept"
    assert "regresses beyond the 2% tolerance" in result.reason and "kept" in result.reason
    assert result.after["Recall@20"] < result.before["Recall@20"] * 0.98 or (
        result.after["NDCG@10"] < result.before["NDCG@10"] * 0.98
    )
    assert _files(model_dir) == before
    assert model_generation(model_dir) == generation == result.generation
    assert _leftovers(model_dir) == []


def test_a_negative_tolerance_demands_a_gain(dirs):
    data_dir, model_dir = dirs
    before = _files(model_dir)
    result = RetrainJob(data_dir, model_dir, tolerance=-1.0, include_baselines=False).run()
    assert result.decision == "kept"
    assert _files(model_dir) == before


def test_background_job_reports_progress_and_runs_alone(dirs):
    data_dir, model_dir = dirs
    finished = []
    job = RetrainJob(data_dir, model_dir, include_baselines=False, on_finish=finished.append)
    runner = RetrainRunner()
    runner.start(job)
    with pytest.raises(RetrainBusyError):
        RetrainJob(data_dir, model_dir, include_baselines=False).start()
    with pytest.raises(RetrainBusyError):
        runner.start(RetrainJob(data_dir, model_dir, include_baselines=False))
    seen = []
    while job.running:
        seen.append(job.progress)
        time.sleep(0.05)
    result = job.wait(timeout=120)
    assert result is not None and result.decision == "swapped"
    assert seen == sorted(seen)  # progress never goes back
    assert job.progress == 1.0 and not job.running
    assert job.message.startswith("Done")
    assert finished == [result]
    assert runner.job is job
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_the_main_thread_is_not_blocked(dirs):
    data_dir, model_dir = dirs
    job = RetrainJob(data_dir, model_dir, include_baselines=False).start()
    t0 = time.perf_counter()
    ticks = 0
    while job.running and ticks < 20:
        ticks += 1
        time.sleep(0.01)
    assert ticks >= 1 and time.perf_counter() - t0 < 5  # the caller kept running meanwhile
    job.wait(120)
    assert threading.active_count() >= 1


def test_a_failing_retrain_keeps_the_old_model(dirs, tmp_path):
    data_dir, model_dir = dirs
    broken = tmp_path / "broken"
    shutil.copytree(data_dir, broken)
    (broken / "products.csv").write_bytes(b"product_id,name\nP1,x\n")
    before = _files(model_dir)
    result = RetrainJob(broken, model_dir, include_baselines=False).run()
    assert result.decision == "failed"
    assert "current model is kept" in result.reason and "price" in result.reason
    assert _files(model_dir) == before


def test_without_an_earlier_report_the_new_model_is_used(dirs):
    data_dir, model_dir = dirs
    shutil.rmtree(report_path(model_dir).parent)
    result = RetrainJob(data_dir, model_dir, include_baselines=False).run()
    assert result.decision == "swapped" and result.before is None
    assert "no earlier evaluation" in result.reason
    assert read_report(model_dir) is not None


def test_baselines_are_in_the_saved_report(dirs):
    data_dir, model_dir = dirs
    result = RetrainJob(data_dir, model_dir, include_baselines=True).run()
    assert result.report is not None
    assert {"hybrid", "popularity", "item_knn"} <= set(result.report.metrics.index)
    assert guarded_metrics(result.report) == result.after


def test_compare_rules():
    before = {"Recall@20": 0.30, "NDCG@10": 0.10}
    assert compare(before, {"Recall@20": 0.295, "NDCG@10": 0.099}, 0.02)[0]
    ok, why = compare(before, {"Recall@20": 0.29, "NDCG@10": 0.10}, 0.02)
    assert not ok and "Recall@20 0.3000 → 0.2900 (-3.3%)" in why
    assert not compare(before, {"Recall@20": 0.31, "NDCG@10": 0.11}, -1.0)[0]
    assert compare(None, {"Recall@20": 0.1, "NDCG@10": 0.1})[0]
    assert not compare(before, {"Recall@20": float("nan"), "NDCG@10": 0.1})[0]
    with pytest.raises(ValueError, match="between -1 and 1"):
        compare(before, before, 2.0)
    with pytest.raises(ValueError, match="between -1 and 1"):
        RetrainJob(".", ".", tolerance=5)


def test_generation_marker(tmp_path):
    assert model_generation(tmp_path / "nothing") == "none"


@pytest.mark.parametrize("tolerance", [1.0, -1.0], ids=["swapped", "kept"])
def test_tune_then_fit_keeps_the_search_and_saves_the_tuned_configuration_on_a_swap(
    maison: tuple[Path, Path], tmp_path: Path, tolerance: float
) -> None:
    from core.engine.tune import read_tune_result

    data_dir, model_dir = tmp_path / "data", tmp_path / "model"
    shutil.copytree(maison[0], data_dir)
    shutil.copytree(maison[1], model_dir)
    job = RetrainJob(
        data_dir, model_dir, include_baselines=False, tolerance=tolerance,
        tune_budget_s=120.0, tune_trials=3,
    )  # fmt: skip
    result = job.run()
    search = read_tune_result(data_dir / "tune_trials.json")
    assert search is not None and len(search.trials) == 3
    assert "Tuned first: 3 trials" in result.reason
    in_use = EngineConfig.from_dict(read_model_info(model_dir)["config"])
    if tolerance > 0:
        assert result.decision == "swapped", result.reason
        assert EngineConfig.from_toml(data_dir / "engine.toml") == search.best_config == in_use
    else:
        assert result.decision == "kept"
        assert "The tuned configuration was not saved" in result.reason
        assert not (data_dir / "engine.toml").exists()
        assert in_use == EngineConfig()


def test_a_bad_tune_budget_is_refused(maison: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="tune_budget_s must be a positive number"):
        RetrainJob(*maison, tune_budget_s=0.0)
