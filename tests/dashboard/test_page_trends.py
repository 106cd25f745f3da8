"""Trends page: AppTest of every action, role checks, no client PII on manager pages; page data."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.trend_view import FORBIDDEN_COLUMNS, TOO_FEW, build_trend_view, top_cluster
from core.data.dataset import validate_tables
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.engine.trends import TrendAnalyzer
from tests.security.hostile import unescape_shown as unescape

PAGE = "trends"
MANAGER_PAGES = ("trends", "model_health", "account")
PRODUCT_COLUMNS = ["name", "designer", "price", "demand"]
PAGES_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages"


def page_file(name: str) -> str:
    """A page script's path, as ``AppTest.switch_page`` wants it."""
    return str(PAGES_DIR / f"{name}.py")


def rendered_text(at: AppTest) -> str:
    """Everything a user can read: text elements, metrics, widget labels and options,
    every dataframe cell, and every plotly figure (hover data included)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text", "code", "exception"):  # fmt: skip
        parts += [str(e.value) for e in at.get(kind)]
    for m in at.get("metric"):
        parts += [str(m.label), str(m.value), str(getattr(m.proto, "help", ""))]
    for df in at.get("dataframe"):
        frame = df.value
        parts.append(" ".join(map(str, frame.columns)))
        parts.append(frame.to_csv(index=False))
    for kind in ("selectbox", "multiselect", "radio"):
        for w in at.get(kind):
            parts.append(str(w.label))
            parts += [str(o) for o in getattr(w, "options", [])]
    for b in at.get("download_button") + at.get("button"):
        parts.append(str(b.label))
    for chart in at.get("plotly_chart"):
        parts.append(chart.proto.spec)
    for tab in at.get("tab"):
        parts.append(str(tab.label))
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def client_pii(data_dir) -> list[str]:
    """Emails, phones and full names of the dataset's clients (staff names excluded)."""
    clients = pd.read_csv(data_dir / "clients.csv", dtype=str, keep_default_na=False)
    staff = set(pd.read_csv(data_dir / "associates.csv", dtype=str, keep_default_na=False)["name"])
    needles = set(clients["email"]) | set(clients["phone"])
    full = (clients["first_name"].str.strip() + " " + clients["last_name"].str.strip()).str.strip()
    needles |= {n for n in full if n not in staff}
    needles |= {"Quatremain", "Vandermeer", "Delaunay-Roche"}
    return sorted(n for n in needles if len(n) >= 5)


def find_df(at: AppTest, columns: list[str]) -> pd.DataFrame:
    for df in at.get("dataframe"):
        if list(df.value.columns) == columns:
            return df.value
    raise AssertionError(f"no dataframe with columns {columns}")


def button(at: AppTest, key: str):
    found = [b for b in at.get("download_button") + at.get("button") if b.key == key]
    assert found, f"no button {key}"
    return found[0]


# ------------------------------------------------------------------ AppTest
def test_manager_opens_trends_and_drills_into_clusters(open_app):
    at = open_app("manager", page=PAGE)
    assert at.title[0].value == "Trends"
    sel = at.selectbox(key="trends:cluster")
    k = len(sel.options)
    assert at.metric[0].label == "Clusters" and at.metric[0].value == str(k)
    assert len(at.get("plotly_chart")) == 4  # map, momentum, weekly, gaps
    first = sel.value
    products = find_df(at, PRODUCT_COLUMNS)
    assert len(products) > 0
    assert list(products["demand"]) == sorted(products["demand"], reverse=True)
    card = next(m.value for m in at.markdown if m.value.startswith('<div class="atelier-card"'))
    assert f"{first + 1}. " in card
    other = next(c for c in range(k) if c != first)
    at.selectbox(key="trends:cluster").set_value(other).run()
    assert not at.exception
    card = next(m.value for m in at.markdown if m.value.startswith('<div class="atelier-card"'))
    assert f'<div class="title">{other + 1}. ' in card
    again = find_df(at, PRODUCT_COLUMNS)
    # Clusters do not overlap. Names alone are not unique (two designers can both
    # make an "Iris lingerie set in silk"), so a product is its name, designer and price.
    shown = ["name", "designer", "price"]
    first_rows = set(products[shown].itertuples(index=False))
    assert set(again[shown].itertuples(index=False)).isdisjoint(first_rows)
    # The cluster's most demanded product is on its card.
    assert again["name"].iloc[0].split()[0] in card


def test_momentum_shows_the_small_count_guard(open_app):
    at = open_app("manager", page=PAGE)
    table = find_df(at, ["cluster", "name", "recent", "earlier", "change_label", "rising"])
    events = table["recent"] + table["earlier"]
    assert (table.loc[events < 10, "change_label"] == TOO_FEW).all()
    assert (events[table["change_label"].str.endswith("%")] >= 10).all()
    assert not table.loc[table["change_label"] == TOO_FEW, "rising"].any()


def test_gap_filters_by_store_and_window(open_app, atelier_env):
    at = open_app("manager", page=PAGE)
    cols = ["cluster", "name", "demand_share", "stock_share", "catalogue_share", "gap"]
    overall = find_df(at, cols)
    assert overall["demand_share"].sum() == pytest.approx(100.0)
    stores = pd.read_csv(atelier_env.data_dir / "stores.csv", dtype=str)
    store = stores["store_id"].iloc[0]
    at.selectbox(key="trends:store").set_value(store).run()
    assert not at.exception
    one = find_df(at, cols)
    assert one["stock_share"].sum() == pytest.approx(100.0)
    assert not one["stock_share"].round(6).equals(overall["stock_share"].round(6))
    assert any(stores["name"].iloc[0] in unescape(c.value) for c in at.caption)
    at.selectbox(key="trends:window").set_value("Last 4 weeks").run()
    assert not at.exception
    assert any("last 4 weeks" in unescape(c.value) for c in at.caption)
    at.selectbox(key="trends:recent").set_value(56).run()
    at.selectbox(key="trends:earlier").set_value(182).run()
    assert not at.exception
    assert any("last 56 days against the 182 days" in c.value for c in at.caption)


def test_exports_are_safe_and_audited(open_app, app_store, atelier_env):
    at = open_app("manager", page=PAGE)
    before = len(app_store.audit.query(action="export", target_type="trends", limit=None))
    for name in ("clusters", "momentum", "gaps", "rising_products"):
        button(at, f"trends:export:{name}").click().run()
        assert not at.exception
    entries = app_store.audit.query(action="export", target_type="trends", limit=None)
    assert len(entries) == before + 4
    assert entries[0].actor_id == atelier_env.users["manager"].user_id
    assert {e.target_id for e in entries[:4]} == {"clusters", "momentum", "gaps", "rising_products"}


@pytest.mark.parametrize("role", ["associate", "stylist"])
@pytest.mark.parametrize("page", ["trends", "model_health", "data_users"])
def test_staff_without_the_role_cannot_open_manager_pages(open_app, role, page):
    at = open_app(role)
    at.switch_page(page_file(page)).run()
    assert not at.exception
    assert any("not available for your role" in e.value for e in at.error)
    assert not at.get("dataframe") and not at.get("plotly_chart")


def test_signed_out_session_sees_no_trends(open_app):
    at = open_app("manager", page=PAGE)
    assert at.get("plotly_chart")
    at.session_state["auth_user_id"] = None  # signed out (or tampered with) mid-session
    at.run()
    assert not at.exception
    assert not at.get("plotly_chart") and not at.get("dataframe")


@pytest.mark.parametrize("page", MANAGER_PAGES)
def test_manager_pages_show_no_client_pii(open_app, atelier_env, page):
    at = open_app("manager", page=page)
    text = rendered_text(at)
    assert len(text) > 200
    leaked = [n for n in client_pii(atelier_env.data_dir) if n in text]
    assert leaked == []
    if page == PAGE:  # every cluster's card and products
        sel = at.selectbox(key="trends:cluster")
        for c in range(len(sel.options)):
            at.selectbox(key="trends:cluster").set_value(c).run()
            text = rendered_text(at)
            assert [n for n in client_pii(atelier_env.data_dir) if n in text] == []


# ------------------------------------------------------------------ page data
@pytest.fixture(scope="module")
def rising_view():
    maison = generate_maison(n_clients=2500, n_products=500, seed=11, rising_segment="runway")
    ds = validate_tables(maison.tables)
    model = HybridRecommender(config=EngineConfig(n_factors=32)).fit(ds)
    analyzer = TrendAnalyzer.from_model(model, ds)
    return maison, ds, analyzer, build_trend_view(analyzer, recent_days=42, earlier_days=120)


def test_planted_rising_segment_tops_momentum_on_the_page_data(rising_view):
    maison, ds, analyzer, view = rising_view
    top = top_cluster(view)
    assert top == int(view.momentum.iloc[0]["cluster"])
    assert bool(view.momentum.iloc[0]["rising"])
    members = ds.products["product_id"].to_numpy()[analyzer.labels_ == top]
    segments = maison.truth["product_segments"].set_index("product_id").loc[members, "segment"]
    assert segments.value_counts(normalize=True).idxmax() == "runway"
    assert view.momentum.iloc[0]["change_label"].startswith("+")
    # The weekly series marks it, for the chart's highlight.
    assert view.weekly.loc[view.weekly["cluster"] == top, "rising"].all()


def test_page_data_carries_no_client_columns(rising_view):
    _, _, analyzer, view = rising_view
    for name, frame in view.frames().items():
        assert not FORBIDDEN_COLUMNS & set(frame.columns), name
    gaps = build_trend_view(analyzer, store_id=analyzer.dataset_.stores["store_id"].iloc[0],
                            window_days=28).gaps  # fmt: skip
    assert gaps["demand_share"].sum() == pytest.approx(1.0) or gaps["demand"].sum() == 0
    with pytest.raises(ValueError, match="at least 1"):
        build_trend_view(analyzer, window_days=0)
