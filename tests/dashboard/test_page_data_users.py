"""Data & users page under AppTest: uploads, users, audit log; admins only.

Each test works on its own copy of the data folder and its own database.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_dataset
from core.data.loading import find_table_files
from core.store import SYSTEM_ACTOR, Store
from tests.security.hostile import unescape_shown as unescape

PAGE = "data_users"
PAGES_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages"


def state(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in find_table_files(folder).values()
    }


def button(at: AppTest, key: str | None = None, label: str | None = None):
    found = [
        b for b in at.get("button") + at.get("download_button")
        if (key is None or b.key == key) and (label is None or b.label == label)
    ]  # fmt: skip
    assert found, f"no button {key or label}"
    return found[0]


@pytest.fixture
def isolated(atelier_env, atelier_databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of the data folder (with its model) and a database with the session's staff."""
    data_dir = tmp_path / "data"
    shutil.copytree(atelier_env.data_dir, data_dir, ignore=shutil.ignore_patterns("*.db*"))
    url = atelier_databases.new("data")
    store = Store.open(url=url)
    for key in ("associate", "manager", "admin"):
        u = atelier_env.users[key]
        _, generated = store.users.create_user(
            u.user_id, u.name, u.role, u.store_id, actor_id=SYSTEM_ACTOR
        )
        store.users.change_password(u.user_id, generated, u.password)  # as at a first sign-in
    monkeypatch.setenv("ATELIER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ATELIER_DATABASE_URL", url)
    yield data_dir, store
    store.close()


def upload(at: AppTest, table: str, filename: str, content: bytes) -> AppTest:
    at.selectbox(key="data:table").set_value(table)
    at.file_uploader(key="data:upload").set_value((filename, content, "text/csv"))
    at.run()
    button(at, "data:check").click().run()
    assert not at.exception, at.exception
    return at


def test_a_bad_upload_is_refused_with_the_report_and_nothing_changes(open_app, isolated):
    data_dir, store = isolated
    at = open_app("admin", page=PAGE)
    before = state(data_dir)
    products = pd.read_csv(data_dir / "products.csv", dtype=str, keep_default_na=False)
    products.loc[2, "price"] = "-40"
    products.loc[5, "launch_date"] = "yesterday"
    upload(at, "products", "products.csv", products.to_csv(index=False).encode())
    assert any(
        "was refused: 2 problems found. Nothing was changed." in unescape(e.value) for e in at.error
    )
    report = next(
        df.value for df in at.dataframe if list(df.value.columns)[:3] == ["file", "row", "column"]
    )
    assert set(zip(report["row"], report["column"], strict=True)) == {
        (3, "price"),
        (6, "launch_date"),
    }
    assert state(data_dir) == before
    assert not [b for b in at.button if b.key == "data:apply"]
    checks = store.audit.query(action="import", limit=None)
    assert len(checks) == 1 and checks[0].details["stage"] == "check"
    assert checks[0].details["valid"] is False and checks[0].details["problems"] == 2
    # The report is exported safely and the export audited.
    button(at, "data:problems_csv").click().run()
    assert store.audit.query(action="export", target_type="validation_report", limit=None)
    # The report survives a rerun (only the check id is in session state).
    at.run()
    assert isinstance(at.session_state["data:check_id"], str)
    assert any("was refused" in unescape(e.value) for e in at.error)


def test_a_valid_upload_is_applied_and_a_retrain_offered(open_app, isolated):
    data_dir, store = isolated
    at = open_app("admin", page=PAGE)
    stores = pd.read_csv(data_dir / "stores.csv", dtype=str, keep_default_na=False)
    stores.loc[0, "name"] = "Maison Lumière"
    upload(at, "stores", "new_stores.csv", stores.to_csv(index=False).encode())
    assert any("is valid for the stores table" in unescape(s.value) for s in at.success)
    assert load_dataset(data_dir).stores["name"].iloc[0] != "Maison Lumière"  # not yet
    button(at, "data:apply").click().run()
    assert not at.exception, at.exception
    assert load_dataset(data_dir).stores["name"].iloc[0] == "Maison Lumière"
    assert any("is in place" in unescape(s.value) for s in at.success)
    assert not button(at, "data:retrain").disabled
    stages = [e.details["stage"] for e in store.audit.query(action="import", limit=None)]
    assert stages == ["apply", "check"]  # newest first


def test_image_embeddings_are_uploaded_from_the_data_page(open_app, isolated):
    import io

    data_dir, _ = isolated
    at = open_app("admin", page=PAGE)
    products = load_dataset(data_dir).products["product_id"].astype(str).tolist()
    vectors = pd.DataFrame({"product_id": products[:10], "embedding": [[0.0, 1.0]] * 10})
    buf = io.BytesIO()
    vectors.to_parquet(buf, index=False)
    upload(at, "product_embeddings", "images.parquet", buf.getvalue())
    assert any(
        "is valid for the product_embeddings table (10 rows)" in unescape(s.value)
        for s in at.success
    )
    button(at, "data:apply").click().run()
    assert not at.exception, at.exception
    loaded = load_dataset(data_dir)
    assert loaded.embeddings.shape[1] == 2 and loaded.embeddings.any(axis=1).sum() == 10


def test_admin_creates_a_user_whose_password_is_shown_once(open_app, isolated, atelier_env):
    _, store = isolated
    at = open_app("admin", page=PAGE)
    at.text_input(key="data:new_id").input("n_ines")
    at.text_input(key="data:new_name").input("Inès Martel")
    at.selectbox(key="data:new_role").set_value("stylist")
    button(at, label="Create user").click().run()
    assert not at.exception
    assert any("shown only once" in unescape(s.value) for s in at.success)
    password = at.code[0].value
    assert store.users.authenticate("n_ines", password).role == "stylist"
    created = store.audit.query(action="user_create", target_id="n_ines", limit=None)
    assert created[0].actor_id == atelier_env.users["admin"].user_id
    at.run()
    assert not at.code  # gone on the next run


def test_admin_resets_changes_and_deactivates_a_user(open_app, isolated, atelier_env):
    _, store = isolated
    target = atelier_env.users["associate"].user_id
    at = open_app("admin", page=PAGE)
    at.selectbox(key="data:edit_user").set_value(target).run()
    button(at, f"data:reset:{target}").click().run()
    new_password = at.code[0].value
    assert store.users.authenticate(target, new_password).must_change_password
    at.selectbox(key=f"data:role:{target}").set_value("stylist")
    button(at, f"data:save_role:{target}").click().run()
    assert store.users.get_user(target).role == "stylist"
    button(at, f"data:deactivate:{target}").click().run()
    assert not at.exception
    assert not store.users.get_user(target).active
    button(at, f"data:activate:{target}").click().run()
    assert store.users.get_user(target).active
    actions = {e.action for e in store.audit.query(target_id=target, limit=None)}
    assert {"password_reset", "user_update"} <= actions


def test_the_last_admin_cannot_be_deactivated(open_app, isolated, atelier_env):
    _, store = isolated
    admin = atelier_env.users["admin"].user_id
    at = open_app("admin", page=PAGE)
    at.selectbox(key="data:edit_user").set_value(admin).run()
    button(at, f"data:deactivate:{admin}").click().run()
    assert not at.exception
    assert any("last active admin" in unescape(e.value) for e in at.error)
    assert store.users.get_user(admin).active


def test_audit_log_filters_and_safe_export(open_app, isolated, atelier_env):
    _, store = isolated
    store.audit.append("system", "import", "table", '=HYPERLINK("x")', {"note": "=1+1"})
    at = open_app("admin", page=PAGE)
    at.selectbox(key="data:audit_action").set_value("import").run()
    log = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert set(log["action"]) == {"import"}
    views = store.audit.query(action="view_audit", limit=None)
    assert views and views[0].actor_id == atelier_env.users["admin"].user_id
    at.selectbox(key="data:audit_action").set_value("(any)").run()
    at.text_input(key="data:audit_target_id").input("nothing-like-this").run()
    log = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert log.empty
    at.text_input(key="data:audit_target_id").input("").run()
    button(at, "data:audit_csv").click().run()
    assert not at.exception
    exports = store.audit.query(action="export", target_type="audit_log", limit=None)
    assert exports and exports[0].details["rows"] >= 2
    assert json.loads(json.dumps(exports[0].details))  # plain JSON


@pytest.mark.parametrize("role", ["manager", "associate"])
def test_only_admins_open_data_and_users(open_app, role):
    at = open_app(role)
    at.switch_page(str(PAGES_DIR / f"{PAGE}.py")).run()
    assert not at.exception
    assert any("not available for your role" in e.value for e in at.error)
    assert not at.get("dataframe") and not at.get("file_uploader")


def test_tune_then_fit_runs_the_tuner_within_the_budget(open_app, isolated):
    from core.app.retrain import RetrainJob
    from core.engine.tune import read_tune_result

    data_dir, store = isolated
    at = open_app("admin", page=PAGE)
    assert button(at, "data:retrain").label == "Retrain now"
    assert at.number_input(key="data:tune_minutes").disabled
    at.toggle(key="data:tune").set_value(True).run()
    assert button(at, "data:retrain").label == "Tune, then fit"
    at.number_input(key="data:tune_minutes").set_value(0.5).run()
    button(at, "data:retrain").click().run()
    assert not at.exception, at.exception
    start = store.audit.query(action="retrain", target_id="start", limit=None)
    assert len(start) == 1 and start[0].details["tune_budget_s"] == 30.0
    assert RetrainJob._process_lock.acquire(timeout=300)  # wait for the job's thread
    RetrainJob._process_lock.release()
    search = read_tune_result(data_dir / "tune_trials.json")
    assert search is not None and len(search.trials) >= 1
    assert search.search["budget_s"] == 30.0
    decision = store.audit.query(action="retrain", limit=None)[0]
    assert decision.target_id in ("swapped", "kept") and "Tuned first" in decision.details["reason"]


@pytest.mark.security
def test_admin_erases_a_client_after_confirming_and_the_app_forgets_them(open_app, isolated):
    data_dir, store = isolated
    at = open_app("admin", page=PAGE)
    at.text_input(key="erase:client_id").input("t_isa").run()
    button(at, "erase:check").click().run()
    assert not at.exception, at.exception
    assert any(
        "Erasing **t\\_isa** removes their profile, 2 event(s)" in w.value for w in at.warning
    )
    assert button(at, "erase:go").disabled  # not before the id is typed again
    button(at, "erase:export").click().run()  # what is kept about them, before
    assert button(at, "erase:export_file").label == "Download the export"
    assert store.audit.query(action="export", target_id="t_isa", limit=None)  # audited
    at.text_input(key="erase:confirm").input("t_is").run()
    assert button(at, "erase:go").disabled
    at.text_input(key="erase:confirm").input("t_isa").run()
    button(at, "erase:go").click().run()
    assert not at.exception, at.exception
    assert any("Erased t_isa" in unescape(s.value) for s in at.success)
    clients = pd.read_csv(data_dir / "clients.csv", dtype=str)
    assert "t_isa" not in set(clients["client_id"])
    entry = store.audit.query(action="erase_client", limit=None)[0]
    assert entry.target_id == "t_isa" and "Quatremain" not in json.dumps(entry.details)
    # The running app serves the data without them: the lookup no longer finds them.
    at.switch_page(str(PAGES_DIR / "lookup.py")).run()
    at.text_input(key="lookup_query").input("Isabelle Quatremain").run()
    assert not at.exception, at.exception
    found = [b.key for b in at.button if (b.key or "").startswith("lookup_card_")]
    assert "lookup_card_t_isa" not in found
    assert any("No client matches" in unescape(i.value) for i in at.info)


def test_a_wrong_client_id_is_named_and_nothing_is_erased(open_app, isolated):
    data_dir, store = isolated
    before = state(data_dir)
    at = open_app("admin", page=PAGE)
    at.text_input(key="erase:client_id").input("nobody").run()
    button(at, "erase:check").click().run()
    assert any("unknown client id 'nobody'" in unescape(e.value) for e in at.error)
    assert not [b for b in at.button if b.key == "erase:go"]
    assert state(data_dir) == before
