"""Model health page under AppTest: report, outcomes from the DB, freshness, rules, retrain.

Each test gets its own database (with the same staff as the session's) and its
own model folder, so shares and retrains here never touch other tests' state.
"""

from __future__ import annotations

import shutil
from datetime import UTC, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.retrain import GENERATION_FILE, RetrainJob, write_report
from core.data.dataset import load_dataset
from core.engine.evaluation import evaluate, load_truth
from core.engine.models.baselines import PopularityRecommender
from core.engine.models.hybrid import HybridRecommender
from core.store import SYSTEM_ACTOR, NewItem, Store
from core.store.db import make_engine
from tests.security.hostile import unescape_shown as unescape

PAGE = "model_health"


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("title", "markdown", "caption", "info", "warning", "error", "success", "text"):
        parts += [str(e.value) for e in at.get(kind)]
    for m in at.get("metric"):
        parts += [str(m.label), str(m.value), str(getattr(m.proto, "help", ""))]
    for df in at.get("dataframe"):
        parts.append(df.value.to_csv(index=False))
    for chart in at.get("plotly_chart"):
        parts.append(chart.proto.spec)
    return unescape("\n".join(parts))


@pytest.fixture
def isolated(atelier_env, atelier_databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh database with the session's staff, and a model folder of its own."""
    url = atelier_databases.new("health")
    store = Store.open(url=url)
    for key in ("associate", "manager", "admin"):
        u = atelier_env.users[key]
        _, generated = store.users.create_user(
            u.user_id, u.name, u.role, u.store_id, actor_id=SYSTEM_ACTOR
        )
        store.users.change_password(u.user_id, generated, u.password)  # as at a first sign-in
    model_dir = tmp_path / "model"
    monkeypatch.setenv("ATELIER_DATABASE_URL", url)
    monkeypatch.setenv("ATELIER_MODEL_DIR", str(model_dir))
    yield store, model_dir, url
    store.close()


def test_manager_sees_every_section_without_a_retrain_button(open_app, isolated):
    at = open_app("manager", page=PAGE)
    assert at.title[0].value == "Model health"
    assert [t.label for t in at.tabs] == [
        "Evaluation",
        "Outcomes",
        "Data & rules",
        "Model & retrain",
    ]
    info = " ".join(i.value for i in at.info)
    assert "no evaluation report" in info and "An admin can run one" in info
    assert "No lookbook has been shared with a client yet" in info
    assert "No associate has kept or removed a model suggestion yet" in info
    assert not [b for b in at.button if b.key == "health:retrain"]
    # Data freshness and the rules that drop most products.
    labels = {m.label: m.value for m in at.metric}
    assert "Latest event" in labels and "Events" in labels
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    fresh = next(v for k, v in frames.items() if k[:2] == ("table", "rows"))
    assert set(fresh["table"]) == {
        *("products", "stores", "stock", "associates", "clients", "events"),
        "product_embeddings",  # the generated maison's optional image embeddings
    }
    drops = next(v for k, v in frames.items() if k and k[0] == "rule")
    assert len(drops) >= 1 and drops["products_dropped"].is_monotonic_decreasing
    # The model's fingerprint and configuration.
    assert "Data fingerprint" in labels and "Configuration" in labels
    # What the fit derived from the data, from the saved model.
    report = frames[("figure", "value")].set_index("figure")["value"]
    assert {"half life days", "popularity gini", "block spread median (content)"} <= set(
        report.index
    )
    assert float(report["half life days"].replace(",", "")) > 0


def test_the_last_evaluation_report_is_shown(open_app, isolated, atelier_env):
    _, model_dir, _ = isolated
    at = open_app("manager", page=PAGE)  # fits and saves the model into model_dir
    dataset = load_dataset(atelier_env.data_dir)
    report = evaluate(
        {"hybrid": lambda: HybridRecommender(), "popularity": lambda: PopularityRecommender()},
        dataset,
        truth=load_truth(atelier_env.data_dir / "truth"),
    )
    write_report(report, model_dir)
    at.run()
    assert not at.exception
    metrics = next(df.value for df in at.dataframe if "vs best baseline" in df.value.columns)
    assert metrics["model"].tolist()[0] == "hybrid"
    assert metrics.set_index("model").loc["hybrid", "Recall@20"] == pytest.approx(
        report.metrics.loc["hybrid", "Recall@20"]
    )
    text = texts(at)
    assert "Temporal split at" in text and "Cold-start slices" in text
    slices = next(df.value for df in at.dataframe if "slice" in df.value.columns)
    assert {"cold_clients", "cold_products"} <= set(slices["slice"])
    # Each slice's size beside its recall, and a small slice called out.
    sizes = report.slices.groupby("slice")["n_clients"].max()
    assert slices.set_index("slice")["n_clients"].to_dict() == sizes.to_dict()
    if sizes.min() < 50:
        assert f"slice holds {sizes.min()} clients" in "\n".join(str(c.value) for c in at.caption)
    if report.taste is not None:
        assert "Planted taste recovery" in text


def _converting_purchase(dataset) -> pd.Series:
    buys = dataset.events[(dataset.events["event_type"] == "purchase") & ~dataset.events["is_gift"]]
    own = buys[~buys["client_id"].str.startswith(("t_", "h_"))]
    return own.sort_values("timestamp").iloc[-1]


def test_outcomes_from_shares_lists_and_removals(open_app, isolated, atelier_env):
    _, _, url = isolated
    dataset = load_dataset(atelier_env.data_dir)
    buy = _converting_purchase(dataset)
    shared_at = pd.Timestamp(buy["timestamp"]).to_pydatetime().replace(tzinfo=UTC) - timedelta(
        days=3
    )
    assoc = atelier_env.users["associate"].user_id
    # A store whose clock is three days before the purchase: the share converts.
    past = Store(make_engine(url), clock=lambda: shared_at)
    items = [
        NewItem(buy["product_id"], reason="Because the client bought the Tote", source="model"),
        NewItem(dataset.products["product_id"].iloc[5], reason="Trending in Paris", source="model"),
    ]
    lst = past.lists.create_list(buy["client_id"], assoc, "For you", items=items)
    past.shares.record_share(
        lst.list_id, "message",
        {"items": [{"product_id": i.product_id} for i in items]}, assoc, consent_contact=True,
    )  # fmt: skip
    past.lists.record_removal(buy["client_id"], dataset.products["product_id"].iloc[7],
                              "Price not right", assoc)  # fmt: skip
    past.close()

    at = open_app("manager", page=PAGE)
    labels = {m.label: m.value for m in at.metric}
    assert labels["Shares"] == "1" and labels["Products sent"] == "2"
    assert labels["Products bought"] == "50.0%"
    text = texts(at)
    assert "No holdout group is configured" in text
    assert "2 of 3 suggestions acted on were kept" in text
    by_reason = next(df.value for df in at.dataframe if "reason_type" in df.value.columns)
    assert {"past purchase", "trend", "not recorded"} == set(by_reason["reason_type"])
    returns = next(df.value for df in at.dataframe if "purchases" in df.value.columns)
    returns = returns.set_index("purchases")
    assert returns.loc["suggested, then bought", "bought"] == 1  # the converted share
    assert returns["bought"].sum() == (dataset.events["event_type"] == "purchase").sum()
    # Aggregates only: the client is nowhere on the page.
    client = dataset.clients.set_index("client_id").loc[buy["client_id"]]
    for needle in (buy["client_id"], client["email"], client["phone"],
                   f"{client['first_name']} {client['last_name']}"):  # fmt: skip
        if needle:
            assert needle not in text
    # A wider window is a slider away.
    at.slider(key="health:window").set_value(30).run()
    assert not at.exception


def test_admin_retrains_in_the_background_and_sees_the_decision(open_app, isolated):
    store, model_dir, _ = isolated
    at = open_app("admin", page=PAGE)
    assert model_dir.is_dir()  # the first run saved the model in use
    retrain = next(b for b in at.button if b.key == "health:retrain")
    assert not retrain.disabled
    at.toggle(key="health:baselines").set_value(False)
    retrain.click().run()
    assert not at.exception
    assert RetrainJob._process_lock.acquire(timeout=300)  # wait for the job's thread
    RetrainJob._process_lock.release()
    # Swapped on disk: a new generation, with its evaluation report beside it.
    assert (model_dir / GENERATION_FILE).read_text().strip() == "1"
    assert (model_dir / "evaluation" / "report.json").is_file()
    entries = store.audit.query(action="retrain", limit=None)
    assert {e.target_id for e in entries} == {"start", "swapped"}
    assert {e.actor_id for e in entries} == {at.session_state["auth_user_id"]}
    at.run()
    assert not at.exception
    success = " ".join(s.value for s in at.success)
    assert "The new model passed the check and is now in use" in unescape(success)
    assert not [b for b in at.button if b.key == "health:retrain" and b.disabled]
    # The next runs load the swapped model (not a refit) and show its evaluation.
    at.run()
    assert (model_dir / GENERATION_FILE).read_text().strip() == "1"
    assert "swapped in by retrain #1" in texts(at)
    assert any("vs best baseline" in df.value.columns for df in at.dataframe) or any(
        "Temporal split at" in m.value for m in at.markdown
    )


def test_the_tuner_search_is_shown_when_its_trials_exist(
    open_app, isolated, atelier_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from optuna.distributions import FloatDistribution, IntDistribution

    from core.engine.tune import trials_path, tune

    data_dir = tmp_path / "data"
    shutil.copytree(atelier_env.data_dir, data_dir, ignore=shutil.ignore_patterns("*.db*", "model"))
    monkeypatch.setenv("ATELIER_DATA_DIR", str(data_dir))
    at = open_app("admin", page=PAGE)
    text = texts(at)
    assert "has not been tuned on this data yet" in text and "python -m core tune" in text
    assert "Tune, then fit" in text
    assert not [c for c in at.get("plotly_chart") if "best so far" in c.proto.spec]
    space = {"n_factors": IntDistribution(4, 32), "blend_k": FloatDistribution(1.0, 20.0)}
    result = tune(load_dataset(data_dir), space=space, n_trials=5, seed=0)
    result.save(trials_path(data_dir))
    at.run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["Trials"] == "5"
    assert labels["Best Recall@20"] == f"{result.trials['Recall@20'].iloc[0]:.4f}"
    assert labels["Best NDCG@10"] == f"{result.trials['NDCG@10'].iloc[0]:.4f}"
    frames = [df.value for df in at.dataframe]
    trials = next(f for f in frames if "state" in f.columns and "trial" in f.columns)
    assert sorted(trials["trial"]) == [0, 1, 2, 3, 4]
    best = next(f for f in frames if list(f.columns) == ["parameter", "start", "best", "changed"])
    assert set(best["parameter"]) == {"n_factors", "blend_k"}
    chart = next(c for c in at.get("plotly_chart") if "best so far" in c.proto.spec)
    assert "Recall@20 + NDCG@10, relative to the start (validation)" in chart.proto.spec
    assert "has not been tuned" not in texts(at)


@pytest.mark.parametrize("role", ["associate", "stylist"])
def test_staff_cannot_open_model_health(open_app, role):
    at = open_app(role)
    at.switch_page(str(Path(__file__).resolve().parents[2] / "dashboard/app_pages/model_health.py"))
    at.run()
    assert any("not available for your role" in e.value for e in at.error)
    assert not at.get("dataframe") and not at.get("metric")
