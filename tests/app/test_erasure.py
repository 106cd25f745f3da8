"""Erasing a client: out of the data tables, the saved model and the database, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.app.bootstrap import load_or_fit_model
from core.app.erasure import client_rows, erase_client, export_client
from core.app.retrain import RetrainBusyError, RetrainJob
from core.cli import main
from core.data.dataset import load_dataset
from core.data.generate import write_maison
from core.engine.evaluation import load_truth
from core.engine.models.persistence import load_model, read_model_info
from core.engine.trends import TrendAnalyzer
from core.exceptions import PermissionDenied, UnknownIdError
from core.settings import Settings
from core.store import SYSTEM_ACTOR, NewItem, Store
from tests.app.erasure_setup import copied_settings, staff_store

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def maison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated maison with its fitted model saved in ``data/model``."""
    data_dir = tmp_path_factory.mktemp("erasure") / "data"
    write_maison(data_dir, n_clients=150, n_products=60, seed=11)
    settings = Settings(data_dir=data_dir)
    load_or_fit_model(load_dataset(data_dir), settings)
    return data_dir


@pytest.fixture
def settings(maison: Path, tmp_path: Path) -> Settings:
    return copied_settings(maison, tmp_path)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    yield from staff_store(settings)


def _subject(settings: Settings) -> tuple[str, str]:
    """The client with the most events, and another client with events."""
    events = pd.read_csv(settings.data_dir / "events.csv", dtype=str)
    top = events["client_id"].value_counts()
    return str(top.index[0]), str(top.index[1])


def _history(store: Store, client_id: str, products: list[str]) -> int:
    lst = store.lists.create_list(client_id, "lea", "Autumn", items=[NewItem(p) for p in products])
    store.lists.remove_item(
        lst.list_id, products[0], "owns it", "lea", expected_version=lst.version
    )
    store.shares.record_share(lst.list_id, "email", {"items": products[1:]}, "lea",
                              consent_contact=True)  # fmt: skip
    store.consent.record_consent_change(client_id, "consent_contact", False, "lea", "asked")
    return lst.list_id


def _files(settings: Settings) -> dict[str, bytes]:
    root = Path(settings.data_dir)
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("atelier.db")
    }


def _db_rows(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("curated_lists", "list_items", "removals", "shares", "consent_changes")
        }


def test_an_erased_client_is_in_no_table_no_model_and_no_export(settings, store):
    subject, other = _subject(settings)
    products = list(load_dataset(settings.data_dir).products["product_id"][:3])
    _history(store, subject, products)
    _history(store, other, products)
    before = load_dataset(settings.data_dir)
    old_model = load_model(settings.resolved_model_dir, before)
    profile = before.client(subject)
    n_events = int((before.events["client_id"] == subject).sum())
    assert client_rows(settings, subject) == {"events": n_events, "clients": 1}

    result = erase_client(settings, store, subject, actor_id="ada")

    assert result.data_rows == {"events": n_events, "clients": 1}
    assert result.model == "rewritten"
    assert result.database_rows["curated_lists"] == 1
    for table in ("clients", "events"):
        raw = pd.read_csv(settings.data_dir / f"{table}.csv", dtype=str)
        assert subject not in set(raw["client_id"]), table
    truth = load_truth(settings.data_dir / "truth")
    assert truth is not None
    assert subject not in set(truth["client_segments"]["client_id"].astype(str))
    after = load_dataset(settings.data_dir)  # still valid
    assert len(after.clients) == len(before.clients) - 1
    assert len(after.events) == len(before.events) - n_events
    assert not list((settings.data_dir / ".staging").glob("*/*"))  # no copy left behind
    # The saved model is the one the app loads for the new data: without their row.
    assert read_model_info(settings.resolved_model_dir)["fingerprint"] == after.fingerprint
    model = load_or_fit_model(after, settings)
    with pytest.raises(UnknownIdError, match=subject):
        model.recommend(subject, k=5)
    # Everyone else is scored exactly as before.
    np.testing.assert_allclose(
        model.score_clients([other]), old_model.score_clients([other]), rtol=1e-6
    )
    # Trends count what is left.
    trends = TrendAnalyzer.from_model(model, after)
    assert trends.dataset_.events["client_id"].ne(subject).all()
    # The export finds nothing, and nothing personal is in the audit entry.
    data = export_client(after, store, subject, actor_id="ada")
    assert data["profile"] == data["events"] == []
    assert data["lists"] == data["removals"] == data["shares"] == data["consent_changes"] == []
    assert len(export_client(after, store, other, actor_id="ada")["profile"]) == 1
    entry = store.audit.query(action="erase_client")[0]
    assert (entry.actor_id, entry.target_type, entry.target_id) == ("ada", "client", subject)
    assert entry.details["data_rows"] == {"events": n_events, "clients": 1}
    text = json.dumps(entry.details, ensure_ascii=False)
    for field in ("first_name", "last_name", "email", "phone"):
        if isinstance(profile[field], str) and profile[field]:
            assert profile[field] not in text, field


def test_a_failed_step_leaves_tables_model_and_database_as_they_were(settings, store):
    subject, _ = _subject(settings)
    products = list(load_dataset(settings.data_dir).products["product_id"][:3])
    _history(store, subject, products)
    files, rows = _files(settings), _db_rows(store)
    audit = len(store.audit.query())
    # The database refuses the deletion (the last step): the data and model are put back.
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE DELETE ON curated_lists "
            "BEGIN SELECT RAISE(ABORT, 'database is full'); END"
        )
    with pytest.raises(Exception, match="database is full"):
        erase_client(settings, store, subject, actor_id="ada")
    assert _files(settings) == files
    assert _db_rows(store) == rows
    assert len(store.audit.query()) == audit
    load_model(settings.resolved_model_dir, load_dataset(settings.data_dir))  # still the one


def test_who_may_erase_and_what_is_refused_changes_nothing(settings, store):
    subject, _ = _subject(settings)
    files = _files(settings)
    with pytest.raises(PermissionDenied, match="only admin"):
        erase_client(settings, store, subject, actor_id="lea")
    with pytest.raises(UnknownIdError, match="no such client"):
        erase_client(settings, store, "nobody-here", actor_id="ada")
    busy = RetrainJob._process_lock
    busy.acquire()
    try:
        with pytest.raises(RetrainBusyError, match="retrain is running"):
            erase_client(settings, store, subject, actor_id="ada")
    finally:
        busy.release()
    assert _files(settings) == files
    assert store.audit.query(action="erase_client") == []


def test_a_model_fitted_on_other_data_is_removed_not_kept(settings, store):
    subject, _ = _subject(settings)
    meta = settings.resolved_model_dir / "model.json"
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "fingerprint": "0" * 16}))
    result = erase_client(settings, store, subject, actor_id="ada")
    assert result.model == "removed"
    assert not settings.resolved_model_dir.exists()


def test_the_command_line_asks_before_erasing(settings, store, monkeypatch, capsys):
    subject, _ = _subject(settings)
    monkeypatch.setenv("ATELIER_DATABASE_URL", settings.resolved_database_url)
    files = _files(settings)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert main(["--data", str(settings.data_dir), "erase", subject]) == 1
    assert "nothing was erased" in capsys.readouterr().err
    assert _files(settings) == files
    assert main(["--data", str(settings.data_dir), "erase", subject, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"erased {subject}: 1 profile" in out
    assert subject not in set(
        pd.read_csv(settings.data_dir / "clients.csv", dtype=str)["client_id"]
    )
    assert store.audit.query(action="erase_client")[0].actor_id == SYSTEM_ACTOR
    assert main(["--data", str(settings.data_dir), "erase", subject, "--yes"]) == 2
    assert "no such client" in capsys.readouterr().err
