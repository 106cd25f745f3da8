"""The tuner: Optuna TPE with pruning, under a trial cap or a time budget, never on the test part."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.config import EngineConfig
from core.engine.evaluation import last_n_split, temporal_split
from core.engine.models.baselines import PopularityRecommender
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.svd import SVDRecommender
from core.engine.tune import (
    DEFAULT_OBJECTIVE,
    DEFAULT_SPACE,
    apply_params,
    assert_unseen,
    check_space,
    parse_duration,
    probe_params,
    read_tune_result,
    start_params,
    tune,
)
from core.exceptions import ConfigError

SMALL_SPACE = {
    "n_factors": IntDistribution(4, 32, log=True),
    "half_life_days": FloatDistribution(30.0, 1500.0, log=True),
    "event_weight_scale": FloatDistribution(0.25, 4.0, log=True),
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    from core.data.generate import generate_maison

    return dict(generate_maison(n_clients=600, n_products=200, seed=3).tables)


@pytest.fixture(scope="module")
def ds(tables: dict[str, pd.DataFrame]) -> Dataset:
    return Dataset.from_frames(**tables)


class _Recorder:
    """A model factory that records the last event time of every dataset a trial fits on."""

    def __init__(self) -> None:
        self.last_events: list[pd.Timestamp] = []
        self.pairs: list[set[tuple[str, str]]] = []

    def __call__(self, config: EngineConfig) -> HybridRecommender:
        recorder = self

        class Recorded(HybridRecommender):
            def fit(self, dataset: Dataset, **kwargs: object) -> Recorded:
                ev = dataset.events
                recorder.last_events.append(ev["timestamp"].max())
                recorder.pairs.append(
                    set(zip(ev[COLS.client_id], ev[COLS.product_id], strict=True))
                )
                return super().fit(dataset, **kwargs)  # type: ignore[arg-type]

        return Recorded(config=config)


# --------------------------------------------------------------- the search
def test_tune_fits_before_the_validation_window_only(ds: Dataset) -> None:
    split = temporal_split(ds, 28, 28)
    assert split.validation is not None
    recorder = _Recorder()
    base = EngineConfig(n_factors=16)
    result = tune(
        ds, base, space=SMALL_SPACE, n_trials=4, seed=1, split=split, model_factory=recorder,
        objective="Recall@20",
    )  # fmt: skip
    assert len(result.trials) == 4 and len(recorder.last_events) == 4
    assert all(t < split.validation.cutoff for t in recorder.last_events)
    assert result.validation["end"] == split.cutoff.isoformat()
    # trial 0 is the starting configuration, unchanged
    first = result.trials.set_index("trial").loc[0]
    assert first["n_factors"] == 16 and first["event_weight_scale"] == 1.0
    assert first["half_life_days"] == base.half_life_days
    # complete trials come best first; the best row is the best configuration
    complete = result.trials.loc[result.trials["state"] == "complete"]
    assert (np.diff(complete["Recall@20"].to_numpy()) <= 0).all()
    best = result.trials.iloc[0]
    assert best["state"] == "complete" and int(best["trial"]) == result.best_trial
    assert result.best_config.n_factors == best["n_factors"]
    assert result.best_config.half_life_days == pytest.approx(best["half_life_days"])
    scale = best["event_weight_scale"]
    assert result.best_config.event_weights["view"] == pytest.approx(
        min(100.0, scale * base.event_weights["view"])
    )
    assert result.best_config.event_weights["purchase"] == base.event_weights["purchase"]
    # never worse than the start on validation
    assert best["Recall@20"] >= first["Recall@20"]
    assert {"seconds", "state", "NDCG@10"} <= set(result.trials.columns)


def test_the_tuner_never_reads_the_test_window(ds: Dataset, tables: dict) -> None:  # type: ignore[type-arg]
    """Poison the test window: every trial scores exactly as before, and no fit saw it."""
    split = temporal_split(ds, 28, 28)
    events = tables["events"].copy()
    in_test = events["timestamp"] >= split.cutoff
    assert in_test.sum() > 100
    # every test event becomes a purchase of one product (same times, same clients)
    events.loc[in_test, COLS.product_id] = events[COLS.product_id].iloc[0]
    events.loc[in_test, "event_type"] = "purchase"
    if "reason" in events:  # a purchase carries no return reason
        events.loc[in_test, "reason"] = ""
    poisoned = Dataset.from_frames(**{**tables, "events": events})
    runs = []
    for data in (ds, poisoned):
        recorder = _Recorder()
        result = tune(data, space=SMALL_SPACE, n_trials=4, seed=2, model_factory=recorder)
        assert all(t < split.cutoff for t in recorder.last_events)
        runs.append(result.trials.drop(columns="seconds"))
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_last_n_tuning_never_fits_on_a_test_pair(ds: Dataset) -> None:
    split = last_n_split(ds, 3)
    test_pairs = set(zip(split.test[COLS.client_id], split.test[COLS.product_id], strict=True))
    assert test_pairs
    recorder = _Recorder()
    result = tune(ds, space=SMALL_SPACE, n_trials=2, protocol="last_n", model_factory=recorder)
    assert result.validation["protocol"] == "last_n"
    assert recorder.pairs and all(not (p & test_pairs) for p in recorder.pairs)


def test_a_leaking_split_is_refused_before_any_fit(ds: Dataset) -> None:
    split = temporal_split(ds, 28, 28)
    assert split.validation is not None
    # the validation fits on every event, the test window's included
    leaky = dataclasses.replace(split, validation=dataclasses.replace(split.validation, train=ds))
    with pytest.raises(RuntimeError, match="not training events"):
        assert_unseen(leaky)
    recorder = _Recorder()
    with pytest.raises(RuntimeError):
        tune(ds, space=SMALL_SPACE, n_trials=2, split=leaky, model_factory=recorder)
    assert recorder.last_events == []
    # last_n: a validation built on the whole log reads the test pairs
    lsplit = last_n_split(ds, 3)
    wide = last_n_split(ds, 1).validation
    with pytest.raises(RuntimeError):
        assert_unseen(dataclasses.replace(lsplit, validation=wide))
    assert_unseen(split) is None and assert_unseen(lsplit) is None


def test_a_budget_stops_the_search_after_the_starting_configuration(ds: Dataset) -> None:
    base = EngineConfig(n_factors=12, blend_k=3.0)
    result = tune(ds, base, n_trials=50, budget_s=0.01, seed=0)
    assert list(result.trials["trial"]) == [0]
    assert result.best_config == base
    assert result.search["budget_s"] == 0.01 and result.search["complete"] == 1


def test_trials_that_trail_are_pruned(ds: Dataset) -> None:
    """A trial whose configuration is bad (popularity only) trails after its first chunk."""

    def factory(config: EngineConfig) -> HybridRecommender | PopularityRecommender:
        return (
            PopularityRecommender(config=config)
            if config.cf_weight > 2.0
            else SVDRecommender(config=config)
        )  # type: ignore[return-value]

    space = {"cf_weight": FloatDistribution(0.0, 4.0), "n_factors": IntDistribution(4, 32)}
    result = tune(
        ds, space=space, n_trials=14, seed=0, model_factory=factory, n_chunks=4,
        objective="Recall@20",
    )  # fmt: skip
    states = result.trials.set_index("trial")["state"]
    pruned = result.trials.loc[result.trials["state"] == "pruned"]
    assert len(pruned), result.trials
    # a pruned trial keeps its running objective; its full metrics are not computed
    assert pruned["Recall@20"].notna().all() and pruned["NDCG@10"].isna().all()
    assert states.loc[0] == "complete" and result.best_config.cf_weight <= 2.0
    assert result.search["pruned"] == len(pruned)


def test_a_composite_objective_is_the_mean_ratio_to_the_start(ds: Dataset) -> None:
    """``Recall@20+NDCG@10``: each trial's value is the mean of its two metrics over the start's."""
    result = tune(ds, space=SMALL_SPACE, n_trials=5, seed=1)  # the default objective
    assert result.objective == DEFAULT_OBJECTIVE == "Recall@20+NDCG@10"
    trials = result.trials.set_index("trial")
    complete = trials.loc[trials["state"] == "complete"]
    start = complete.loc[0]
    assert start["Recall@20+NDCG@10"] == 1.0
    want = 0.5 * (
        complete["Recall@20"] / start["Recall@20"] + complete["NDCG@10"] / start["NDCG@10"]
    )
    np.testing.assert_allclose(complete["Recall@20+NDCG@10"], want, rtol=1e-12)
    # the best configuration is the complete trial with the highest mean ratio
    best = complete["Recall@20+NDCG@10"].idxmax()
    assert result.best_config == apply_params(
        EngineConfig(), {k: complete.loc[best, k] for k in SMALL_SPACE}
    )
    # what the CLI and the retrain decision print: each metric's start and best, then the mean
    gains = {name: (first, top) for name, first, top in result.gains()}
    assert list(gains) == ["Recall@20", "NDCG@10", "Recall@20+NDCG@10"]
    assert gains["NDCG@10"] == (start["NDCG@10"], complete.loc[best, "NDCG@10"])
    assert gains["Recall@20+NDCG@10"] == (1.0, complete.loc[best, "Recall@20+NDCG@10"])
    line = result.describe()
    assert f"NDCG@10 on validation: start {start['NDCG@10']:.4f}" in line
    assert "Recall@20+NDCG@10 (relative to the start) on validation: start 1.0000" in line


def test_probes_move_one_telling_knob_at_a_time_within_its_range() -> None:
    space = {
        "content_weight": FloatDistribution(0.0, 4.0),
        "prior_weight": FloatDistribution(0.0, 3.0),
        "factor_shrinkage": FloatDistribution(1.0, 1000.0, log=True),
        "n_factors": IntDistribution(4, 128, log=True),
        "item_normalization": CategoricalDistribution(("none", "bm25")),
    }
    start = {"content_weight": 3.5, "prior_weight": 1.0, "factor_shrinkage": 800.0,
             "n_factors": 16, "item_normalization": "bm25"}  # fmt: skip
    probes = probe_params(start, space, 20)
    moved = [(key, probe[key]) for probe in probes for key in start if probe[key] != start[key]]
    assert moved == [
        ("content_weight", 4.0),  # a quarter of the range up, clipped to the end
        ("content_weight", 2.5),
        ("prior_weight", 1.75),
        ("prior_weight", 0.25),
        ("factor_shrinkage", 1000.0),  # log scale: doubled, clipped
        ("factor_shrinkage", 400.0),
        ("n_factors", 32),
        ("n_factors", 8),
    ]  # one knob each; the categorical is left to TPE
    assert probe_params(start, space, 3) == probes[:3]
    # a knob already at its end is not "moved" onto itself
    assert probe_params({**start, "content_weight": 4.0}, space, 1)[0]["content_weight"] == 3.0


def test_a_search_tries_the_start_then_the_probes(ds: Dataset) -> None:
    space = {"content_weight": FloatDistribution(0.0, 4.0), **SMALL_SPACE}
    result = tune(ds, space=space, n_trials=6, seed=0, objective="Recall@20")
    trials = result.trials.set_index("trial").sort_index()
    assert trials.loc[0, "content_weight"] == EngineConfig().content_weight
    assert list(trials.loc[[1, 2], "content_weight"]) == [3.0, 1.0]
    assert (trials.loc[[1, 2], "n_factors"] == EngineConfig().n_factors).all()


# ------------------------------------------------------------------ space
def test_the_default_space_lies_in_the_engine_ranges_and_holds_the_defaults() -> None:
    base = EngineConfig()
    assert check_space(DEFAULT_SPACE, base) == DEFAULT_SPACE
    for key, value in start_params(base, DEFAULT_SPACE).items():
        dist = DEFAULT_SPACE[key]
        if isinstance(dist, CategoricalDistribution):
            assert value in dist.choices
        else:
            assert dist.low <= value <= dist.high, key  # type: ignore[attr-defined]
    # the searched knobs the brief names are there
    for key in ("item_normalization", "popularity_exponent", "n_factors", "half_life_days", "item_shrinkage",
                "event_weight_scale", "prior_weight", "new_arrival_weight", "item_neighbours"):  # fmt: skip
        assert key in DEFAULT_SPACE


def test_tune_rejects_bad_arguments(ds: Dataset) -> None:
    with pytest.raises(ValueError, match="n_trials must be"):
        tune(ds, n_trials=0)
    with pytest.raises(ValueError, match="budget_s must be"):
        tune(ds, budget_s=-5)
    with pytest.raises(ValueError, match="objective must look like"):
        tune(ds, objective="AUC")
    with pytest.raises(ValueError, match="objective must look like"):
        tune(ds, objective="Recall@20+AUC")
    with pytest.raises(ValueError, match="names a metric twice"):
        tune(ds, objective="NDCG@10+NDCG@10")
    with pytest.raises(ValueError, match="protocol must be one of"):
        tune(ds, protocol="random")
    with pytest.raises(ConfigError, match="n_factors"):
        tune(ds, space={"n_factors": IntDistribution(1, 8)}, n_trials=2)
    with pytest.raises(ValueError, match="Optuna distribution"):
        tune(ds, space={"n_factors": (8, 16)}, n_trials=2)  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="starting value"):
        tune(ds, space={"item_normalization": CategoricalDistribution(("none",))})


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90.0), ("10m", 600.0), ("1h", 3600.0), ("1.5h", 5400.0),
                          ("120", 120.0), (" 2 M ", 120.0)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "0s", "-5m", "5d", "", "1h30"])
def test_parse_duration_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="duration must be"):
        parse_duration(text)


def test_a_search_round_trips_through_its_file(ds: Dataset, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = tune(ds, space=SMALL_SPACE, n_trials=3, seed=0)
    path = result.save(tmp_path / "tune_trials.json")
    back = read_tune_result(path)
    assert back is not None
    assert back.best_config == result.best_config and back.best_trial == result.best_trial
    pd.testing.assert_frame_equal(back.trials, result.trials, check_dtype=False)
    assert read_tune_result(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert read_tune_result(tmp_path / "bad.json") is None
    # a file without the objective's column, or with a bad configuration, is not a search
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    for broken in (
        {**data, "objective": "NDCG@5"},
        {**data, "trials": "x"},
        {**data, "best_config": {"n_factors": -1}},
    ):
        (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
        assert read_tune_result(tmp_path / "broken.json") is None


def test_apply_params_round_trips_to_toml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = apply_params(EngineConfig(), {"blend_k": 5.0, "event_weight_scale": 2.0})
    assert config.blend_k == 5.0 and config.event_weights["zoom"] == 3.0
    path = config.to_toml(tmp_path / "engine.toml")
    assert EngineConfig.from_toml(path) == config
