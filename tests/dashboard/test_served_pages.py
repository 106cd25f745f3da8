"""The dashboard serving a partitioned house per client (``ATELIER_SERVE=per-client``).

The process holds products, clients and the product-side model of ``fit
--dask``; the client page reads the open client's events from the partitioned
events when it runs. The same planted clients as the in-memory pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.data.dataset import load_dataset
from core.data.partitioned import write_partitioned
from core.engine.scale.fit import fit_partitioned
from core.settings import Settings
from dashboard import state

pytestmark = pytest.mark.usefixtures("atelier_env")


@pytest.fixture(scope="module")
def served_dir(atelier_maison: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The maison rewritten in the partitioned layout, with its product-side model."""
    ds = load_dataset(atelier_maison)
    out = tmp_path_factory.mktemp("served") / "data"
    out.mkdir()
    for name in ("products", "stores", "stock", "associates"):
        getattr(ds, name).to_parquet(out / f"{name}.parquet", index=False)
    for extra in atelier_maison.glob("product_embeddings.*"):
        shutil.copy(extra, out / extra.name)
    write_partitioned([(ds.clients, ds.events)], out, 3)
    fit_partitioned(out, "sync", out=Settings(data_dir=out).product_side_model_dir)
    return out


@pytest.fixture
def served_app(open_app, served_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ATELIER_DATA_DIR", str(served_dir))
    monkeypatch.setenv("ATELIER_SERVE", "per-client")
    return open_app


def _open(app, client_id: str, tab: str | None = None):
    opened: dict[str, object] = {state.SELECTED_CLIENT: client_id}
    if tab is not None:
        opened[state.client_tab_key(client_id)] = tab
    return app("associate", page="client", state=opened)


def test_suggestions_come_from_the_events_read_for_the_open_client(served_app) -> None:
    at = _open(served_app, "t_isa")
    prefix = "cur:t_isa:pin:"
    shown = [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]
    assert len(shown) == 12
    text = "\n".join(str(m.value) for m in at.markdown)
    assert "history is not used" not in text
    from dashboard import resources

    dataset = resources.get_dataset(Settings())
    assert len(dataset.events) == 0  # the process holds no event


def test_activity_is_read_per_client(served_app) -> None:
    at = _open(served_app, "t_isa", tab="Activity")
    volunteered, browsing = at.dataframe[0].value, at.dataframe[1].value
    assert list(volunteered["What"]) == ["Purchase"]
    assert list(browsing["What"]) == ["Viewed online"]


def test_trends_show_the_house_demand_without_the_event_log(served_app) -> None:
    at = served_app("manager", page="trends")
    assert at.title[0].value == "Trends"
    assert len(at.get("plotly_chart")) == 4  # map, momentum, weekly, gaps
    products = next(
        df.value for df in at.dataframe if list(df.value.columns)[:2] == ["name", "designer"]
    )
    assert len(products) > 0 and products["demand"].max() > 0


def test_model_health_counts_the_partitioned_events(served_app, served_dir: Path) -> None:
    from core.data.partitioned import PartitionedEvents

    at = served_app("manager", page="model_health")
    labels = {m.label: m.value for m in at.metric}
    n_events = sum(PartitionedEvents(served_dir).manifest.rows)
    assert n_events > 0 and labels["Events"] == f"{n_events:,}"
    fresh = next(df.value for df in at.dataframe if list(df.value.columns)[:2] == ["table", "rows"])
    assert int(fresh.loc[fresh["table"] == "events", "rows"].iloc[0]) == n_events
    # No in-process retrain: the page says how to refit on Dask.
    assert any("fit --dask" in str(i.value) for i in at.info)
    assert not [b for b in at.button if b.key == "health:retrain"]


def test_the_data_page_offers_no_in_process_retrain_either(served_app) -> None:
    """Both pages show the one retrain control: serving per client, it says how to refit."""
    at = served_app("admin", page="data_users")
    assert any("fit --dask" in str(i.value) for i in at.info)
    assert not [b for b in at.button if b.key == "data:retrain"]


def test_the_lookup_shows_last_activity_and_filters_on_it_without_the_event_log(
    served_app,
) -> None:
    from tests.dashboard.test_page_lookup import cards

    at = served_app("associate", page="lookup")
    found = dict(cards(at))
    assert "last activity" in found["t_isa"]  # not "no activity yet": she has events
    at.toggle(key="lookup:recent").set_value(True).run()
    assert not at.exception, at.exception
    recent = dict(cards(at))
    assert recent, "someone of hers was active in the last 90 days"
    assert all("last activity" in label for label in recent.values())


@pytest.mark.security
def test_admin_erases_a_client_of_a_served_house_and_the_lookup_forgets_them(
    open_app,
    served_dir: Path,
    atelier_env,
    atelier_databases,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.data.partitioned import PartitionedEvents
    from core.exceptions import UnknownIdError
    from core.store import SYSTEM_ACTOR, Store
    from tests.conftest import PAGES_DIR
    from tests.security.hostile import unescape_markdown

    data_dir = tmp_path / "data"
    shutil.copytree(served_dir, data_dir)
    url = atelier_databases.new("served-erase")
    store = Store.open(url=url)
    admin = atelier_env.users["admin"]
    _, generated = store.users.create_user(
        admin.user_id, admin.name, admin.role, admin.store_id, actor_id=SYSTEM_ACTOR
    )
    store.users.change_password(admin.user_id, generated, admin.password)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ATELIER_SERVE", "per-client")
    monkeypatch.setenv("ATELIER_DATABASE_URL", url)
    try:
        n_events = len(PartitionedEvents(data_dir).client_events("t_isa"))
        at = open_app("admin", page="data_users")
        at.text_input(key="erase:client_id").input("t_isa").run()
        next(b for b in at.button if b.key == "erase:check").click().run()
        assert not at.exception, at.exception
        shown = " ".join(str(w.value) for w in at.warning)
        assert f"removes their profile, {n_events} event(s)" in shown
        next(b for b in at.button if b.key == "erase:export").click().run()  # read per client
        assert not at.exception, at.exception
        assert store.audit.query(action="export", target_id="t_isa", limit=None)
        at.text_input(key="erase:confirm").input("t_isa").run()
        next(b for b in at.button if b.key == "erase:go").click().run()
        assert not at.exception, at.exception
        with pytest.raises(UnknownIdError):
            PartitionedEvents(data_dir).client("t_isa")
        assert any("Erased t_isa" in unescape_markdown(s.value) for s in at.success)
        assert store.audit.query(action="erase_client", limit=None)[0].target_id == "t_isa"
        # The house before the erasure is no longer held (one served house per folder).
        from dashboard import resources

        held = [s for s in resources._served_registry().values() if s.reader.path == data_dir]
        assert len(held) == 1 and "t_isa" not in set(held[0].dataset.clients["client_id"])
        # The running app serves the rewritten house: the lookup no longer finds her.
        at.switch_page(str(PAGES_DIR / "lookup.py")).run()
        at.text_input(key="lookup_query").input("Isabelle Quatremain").run()
        assert not at.exception, at.exception
        found = [b.key for b in at.button if (b.key or "").startswith("lookup_card_")]
        assert "lookup_card_t_isa" not in found
    finally:
        store.close()
