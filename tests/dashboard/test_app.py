"""The app frame under AppTest: sign-in, lockout, expiry, sign-out, role gates."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.app.access import PAGE_ROLES
from dashboard import state

pytestmark = pytest.mark.usefixtures("atelier_env")


def texts(at: AppTest) -> str:
    """Every text-like element of the last run, Markdown escapes removed, one string."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text"):  # fmt: skip
        parts += [str(e.value) for e in at.get(kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts)).replace("\u2060", "")


def sign_in(at: AppTest, user_id: str, password: str) -> AppTest:
    at.text_input(key="auth:user_id").input(user_id)
    at.text_input(key="auth:password").input(password)
    at.button(key="auth:submit").click()
    at.run()
    assert not at.exception, at.exception
    return at


def change_password(at: AppTest, old: str, new: str) -> AppTest:
    """Fill the Account page's form (the new password twice) and submit it."""
    at.text_input(key="acct:old").input(old)
    at.text_input(key="acct:new").input(new)
    at.text_input(key="acct:again").input(new)
    at.button(key="acct:submit").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_signed_out_sees_sign_in_only(open_app):
    at = open_app()
    assert at.title[0].value == "Atelier"
    assert at.text_input(key="auth:user_id") is not None
    assert "Client lookup" not in texts(at)


def test_sign_in_ok_opens_lookup(open_app, atelier_env):
    user = atelier_env.users["associate"]
    at = sign_in(open_app(), user.user_id, user.password)
    assert at.session_state[state.USER_ID] == user.user_id
    assert at.title[0].value == "Client lookup"


def test_wrong_password_shows_message(open_app, atelier_env):
    user = atelier_env.users["stylist"]
    at = sign_in(open_app(), user.user_id, "not-the-password")
    assert [e.value for e in at.error] == ["Wrong user id or password."]
    assert at.session_state[state.USER_ID] is None


def test_empty_fields_ask_for_both(open_app):
    at = sign_in(open_app(), "", "")
    assert "Enter your user id and password." in [e.value for e in at.error]


def test_lockout_after_max_failures(open_app, atelier_env):
    user = atelier_env.lockout_user
    at = open_app()
    for _ in range(5):  # Settings.max_failed_logins
        sign_in(at, user.user_id, "wrong-password-xx")
    assert "locked" in at.error[0].value
    sign_in(at, user.user_id, user.password)  # even the right password is refused now
    assert "locked" in at.error[0].value
    assert at.session_state[state.USER_ID] is None


def test_session_expires_after_inactivity(open_app, atelier_env, app_store):
    user = atelier_env.users["associate"]
    at = open_app("associate")
    assert at.title[0].value == "Client lookup"
    at.session_state[state.LAST_SEEN] = time.time() - 31 * 60  # Settings: 30 minutes
    at.run()
    assert not at.exception
    assert at.title[0].value == "Atelier"
    assert "signed out after 30 minutes" in texts(at)
    logouts = app_store.audit.query(actor=user.user_id, action="logout", limit=1)
    assert logouts and logouts[0].details["reason"] == "inactivity"


def test_activity_keeps_session_alive(open_app):
    at = open_app("associate")
    at.session_state[state.LAST_SEEN] = time.time() - 29 * 60
    at.run()
    assert not at.exception
    assert at.title[0].value == "Client lookup"
    assert at.session_state[state.LAST_SEEN] > time.time() - 60


def test_sign_out_from_account_page(open_app, atelier_env):
    at = open_app("stylist", page="account")
    assert at.title[0].value == "Account"
    assert atelier_env.users["stylist"].name in texts(at)
    at.button(key="acct:sign_out").click()
    at.run()
    assert not at.exception
    assert at.session_state[state.USER_ID] is None
    assert at.title[0].value == "Atelier"


def test_change_password(open_app, app_store):
    record, old = app_store.users.create_user(
        "pwchange",
        "Pat Change",
        "associate",
        "par",
        password="first-password-1",
        actor_id="system",
    )
    at = change_password(open_app(user_id=record.user_id, page="account"), old, "second-password-2")
    assert [e.value for e in at.success] == ["Your password is changed."]
    assert app_store.users.authenticate("pwchange", "second-password-2").user_id == "pwchange"


def test_change_password_mismatch(open_app, atelier_env):
    at = open_app("admin", page="account")
    at.text_input(key="acct:old").input(atelier_env.users["admin"].password)
    at.text_input(key="acct:new").input("second-password-2")
    at.text_input(key="acct:again").input("second-password-3")
    at.button(key="acct:submit").click()
    at.run()
    assert not at.exception
    assert "differ" in at.error[0].value


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("associate", ["lookup", "client", "tryon", "lists", "account"]),
        ("stylist", ["lookup", "client", "tryon", "lists", "account"]),
        ("manager", ["trends", "model_health", "account"]),
        ("admin", ["lookup", "client", "trends", "model_health", "data_users", "account"]),
    ],
)
def test_page_registry_by_role(role, expected):
    allowed = [p.key for p in state.PAGES if role in p.roles]
    assert allowed == expected
    assert [p.key for p in state.pages_for(role)] == expected
    assert state.pages_for(None) == []


def test_every_registered_page_is_gated():
    for spec in state.PAGES:
        assert spec.key in PAGE_ROLES
        source = spec.file.read_text(encoding="utf-8")  # every registered page is on disk
        assert f'require_role("{spec.key}")' in source, spec.path


@pytest.mark.parametrize("page", ["lookup", "client", "lists"])
def test_manager_reaching_client_pages_by_url_is_stopped(open_app, page):
    # Pages outside the role are not in the menu; opened by URL they stop with a message.
    at = open_app("manager")
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / f"{page}.py"))
    at.run()
    assert not at.exception
    assert "not available for your role (manager)" in at.error[0].value
    assert not _has_key(at, "lookup_query")
    text = texts(at)
    assert "Quatremain" not in text and "@example" not in text


@pytest.mark.parametrize("page", ["trends", "model_health", "data_users"])
def test_associate_reaching_manager_pages_by_url_is_stopped(open_app, page):
    at = open_app("associate")
    at.session_state["role"] = "admin"  # tampering with session state changes nothing
    at.run()
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / f"{page}.py"))
    at.run()
    assert not at.exception
    assert "not available for your role (associate)" in at.error[0].value
    assert not at.get("plotly_chart") and not at.get("dataframe")


def _has_key(at: AppTest, key: str) -> bool:
    return any(getattr(w, "key", None) == key for w in at.text_input)


@pytest.mark.parametrize("page", ["lookup", "client"])
def test_manager_blocked_when_page_run_directly(page, atelier_env, sign_in_for_test):
    # Reaching the page script without the navigation (e.g. by URL) still checks the role.
    at = AppTest.from_file(str(state.DASHBOARD_DIR / "app_pages" / f"{page}.py"))
    sign_in_for_test(at.session_state, atelier_env.users["manager"].user_id)
    at.session_state["role"] = "associate"  # tampering with session state changes nothing
    at.run()
    assert not at.exception
    assert "not available for your role (manager)" in at.error[0].value
    assert not _has_key(at, "lookup_query")


def test_associate_blocked_from_admin_page_even_with_tampered_state(atelier_env, sign_in_for_test):
    script = (
        "import streamlit as st\n"
        "from dashboard.auth import require_role\n"
        "require_role('data_users')\n"
        "st.write('admin secrets')\n"
    )
    at = AppTest.from_string(script)
    sign_in_for_test(at.session_state, atelier_env.users["associate"].user_id)
    at.session_state["role"] = "admin"
    at.session_state["auth_role"] = "admin"
    at.run()
    assert not at.exception
    assert "not available for your role (associate)" in at.error[0].value
    assert "admin secrets" not in texts(at)


def test_page_run_directly_when_signed_out_asks_to_sign_in(atelier_env):
    at = AppTest.from_file(str(state.DASHBOARD_DIR / "app_pages" / "client.py"))
    at.run()
    assert not at.exception
    assert "sign in" in at.warning[0].value.lower()


def test_unknown_user_in_session_is_signed_out(open_app):
    at = open_app(user_id="nobody-such")
    assert at.title[0].value == "Atelier"
    assert at.session_state[state.USER_ID] is None


def test_invalid_data_is_reported_not_raised(tmp_path, monkeypatch, atelier_env, atelier_db_url):
    import shutil

    import pandas as pd

    data = tmp_path / "data"
    shutil.copytree(atelier_env.data_dir, data, ignore=shutil.ignore_patterns("model", "truth"))
    products = pd.read_csv(data / "products.csv", dtype=str, keep_default_na=False)
    products.loc[0, "price"] = "twelve"
    products.to_csv(data / "products.csv", index=False)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(data))
    monkeypatch.setenv("ATELIER_DATABASE_URL", atelier_db_url)
    monkeypatch.chdir(state.DASHBOARD_DIR.parent)
    at = AppTest.from_file(str(state.DASHBOARD_DIR / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert "could not be loaded" in at.error[0].value
    report = at.code[0].value
    assert "products.csv, row 1, column 'price'" in report and "'twelve'" in report


def test_model_cached_per_fingerprint_and_generation(tmp_path, atelier_env):
    import shutil

    from core.settings import Settings
    from dashboard import resources

    data = tmp_path / "data"
    shutil.copytree(atelier_env.data_dir, data)
    settings = Settings(data_dir=data, database_url=atelier_env.database_url)
    dataset = resources.get_dataset(settings)
    assert resources.get_dataset(settings) is dataset  # same files: same object
    first = resources.get_model(dataset, settings)
    assert resources.get_model(dataset, settings) is first
    # A retrain swaps a new model in on disk and raises the generation counter.
    (settings.resolved_model_dir / "generation").write_text("7", encoding="utf-8")
    second = resources.get_model(dataset, settings)
    assert second is not first
    assert second.dataset_.fingerprint == dataset.fingerprint
    # Changing a data file gives a new dataset object (and, if its content changed,
    # a new fingerprint).
    stores = data / "stores.csv"
    stores.write_text(stores.read_text(encoding="utf-8"), encoding="utf-8")
    assert resources.get_dataset(settings) is not dataset


def _generated_password_user(app_store, user_id: str, role: str = "associate"):
    record, password = app_store.users.create_user(
        user_id, "Gen Erated", role, "par", actor_id="system"
    )
    assert record.must_change_password
    return record, password


@pytest.mark.security
def test_generated_password_leads_to_account_and_nowhere_else(open_app, app_store):
    record, password = _generated_password_user(app_store, "forced1")
    at = open_app(user_id=record.user_id)  # the start page (lookup) redirects
    assert at.title[0].value == "Account"
    assert "generated password" in texts(at)
    for page in ("lookup", "client", "lists"):
        at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / f"{page}.py"))
        at.run()
        assert not at.exception
        assert at.title[0].value == "Account", page
        assert not _has_key(at, "lookup_query")
    # (A browser's URL follows the redirect; AppTest keeps asking for the last page.)
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / "account.py"))
    at.run()
    change_password(at, password, "my-own-password-1")
    assert [e.value for e in at.success] == ["Your password is changed."]
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / "lookup.py"))
    at.run()
    assert not at.exception
    assert at.title[0].value == "Client lookup"


@pytest.mark.security
def test_generated_password_page_run_directly_is_stopped(app_store, sign_in_for_test):
    record, _ = _generated_password_user(app_store, "forced2")
    at = AppTest.from_file(str(state.DASHBOARD_DIR / "app_pages" / "lookup.py"))
    sign_in_for_test(at.session_state, record.user_id)
    at.run()
    assert not at.exception
    assert "choose your own on the Account page" in at.warning[0].value
    assert not _has_key(at, "lookup_query")


@pytest.mark.security
def test_sign_in_with_generated_password_opens_account(open_app, app_store):
    record, password = _generated_password_user(app_store, "forced3", role="manager")
    at = sign_in(open_app(), record.user_id, password)
    assert at.session_state[state.USER_ID] == record.user_id
    assert at.title[0].value == "Account"


@pytest.mark.security
def test_sign_in_keeps_a_signed_token_for_the_cookie(open_app, atelier_env):
    user = atelier_env.users["stylist"]
    at = sign_in(open_app(), user.user_id, user.password)
    token = at.session_state[state.SESSION_TOKEN]
    assert token and user.password not in token
    assert at.session_state[state.SESSION_ID]
    at.switch_page(str(state.DASHBOARD_DIR / "app_pages" / "account.py"))
    at.run()
    at.button(key="acct:sign_out").click()
    at.run()
    assert not at.exception
    assert at.session_state[state.SESSION_TOKEN] is None


def test_start_up_freezes_the_shared_resources_out_of_the_collectors_sight(open_app):
    import gc

    from dashboard import resources

    at = open_app("associate")  # start-up has run in this process (now or earlier)
    assert not at.exception
    assert gc.get_freeze_count() > 0  # the data and model objects sit in the permanent generation
    assert resources.settle_heap() is False  # once per process: later calls do nothing


def test_streamlit_does_not_collect_garbage_after_every_run(monkeypatch):
    from streamlit import config

    monkeypatch.chdir(state.DASHBOARD_DIR.parent)  # where .streamlit/config.toml is read
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("runner.postScriptGC") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)
