"""Single sign-on under AppTest: the sign-in page's button, and a provider's claims signing in.

AppTest cannot follow ``st.login``'s redirect to a provider and back; it seeds
``st.user`` instead (``AppTest.user``), which is what the app reads once the
provider has answered. The redirect itself is Streamlit's (and untested here).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "dashboard" / "app.py"
ACCOUNT = REPO_ROOT / "dashboard" / "app_pages" / "account.py"

pytestmark = pytest.mark.security

SSO = {
    "provider": "okta",
    "label": "Okta",
    "store_claim": "store",
    "roles": {"atelier-stylists": "stylist", "atelier-admins": "admin"},
}
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-of-some-length-0123456789",
    "okta": {
        "client_id": "atelier",
        "client_secret": "not-a-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    },
}


@pytest.fixture
def sso_app(atelier_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An AppTest factory on the session's maison, a fresh database and SSO secrets."""
    url = f"sqlite:///{(tmp_path / 'sso.db').as_posix()}"
    store = Store.open(url=url)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(atelier_env.data_dir))
    monkeypatch.setenv("ATELIER_DATABASE_URL", url)
    monkeypatch.chdir(REPO_ROOT)

    def start(user: dict[str, object], sso: dict[str, object] | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.secrets["sso"] = sso or SSO
        at.secrets["auth"] = AUTH
        at.user = user
        at.run()
        assert not at.exception, at.exception
        return at

    yield start, store
    store.close()


def _store_of(atelier_env) -> str:
    return str(atelier_env.users["stylist"].store_id)


def test_signed_out_visitors_see_the_provider_button_and_no_password_form(sso_app):
    start, _ = sso_app
    at = start({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in with Okta"]
    assert not at.text_input  # no user id or password fields
    with_passwords = start({"is_logged_in": False}, {**SSO, "allow_passwords": True})
    assert "Sign in with Okta" in [b.label for b in with_passwords.button]
    assert {t.key for t in with_passwords.text_input} >= {"auth:user_id", "auth:password"}


def test_the_providers_claims_sign_in_and_create_the_user(sso_app, atelier_env):
    start, store = sso_app
    claims = {
        "is_logged_in": True,
        "email": "Agnes.Martel@House.example",
        "name": "Agnès Martel",
        "groups": ["everyone", "atelier-stylists"],
        "store": _store_of(atelier_env),
    }
    at = start(claims)
    assert at.title[0].value == "Client lookup"  # a stylist's first page
    assert at.session_state["auth_user_id"] == "agnes.martel@house.example"
    user = store.users.get_user("agnes.martel@house.example")
    assert (user.name, user.role, user.store_id) == (
        "Agnès Martel",
        "stylist",
        _store_of(atelier_env),
    )
    assert not user.must_change_password
    login = store.audit.query(action="login", limit=None)[0]
    assert login.details == {"via": "okta"}
    # Session state edited by hand cannot raise the role: it is read from the database.
    at.session_state["auth_user_id"] = "agnes.martel@house.example"
    at.switch_page(str(REPO_ROOT / "dashboard" / "app_pages" / "data_users.py")).run()
    assert any("not available for your role (stylist)" in e.value for e in at.error)
    # Signing out also forgets the provider's sign-in.
    at.switch_page(str(ACCOUNT)).run()
    at.button(key="acct:sign_out").click().run()
    assert not at.exception, at.exception
    assert at.user == {"is_logged_in": False}
    assert "Sign in with Okta" in [b.label for b in at.button]


def test_claims_that_give_no_role_are_refused_on_the_sign_in_page(sso_app):
    start, store = sso_app
    at = start({"is_logged_in": True, "email": "guest@house.example", "groups": ["everyone"]})
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert any("Single sign-on refused" in e and "atelier-admins" in e for e in errors), errors
    assert [b.label for b in at.button] == ["Sign out of Okta"]
    assert at.session_state["auth_user_id"] is None
    assert [u.user_id for u in store.users.list_users()] == []


def test_an_invalid_sso_section_stops_the_app_with_the_key_named(sso_app):
    start, _ = sso_app
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets["sso"] = {**SSO, "roles": {"atelier-stylists": "owner"}}
    at.secrets["auth"] = AUTH
    at.run()
    assert any("a role is one of associate" in e.value for e in at.error)
    no_auth = AppTest.from_file(str(APP), default_timeout=120)
    no_auth.secrets["sso"] = SSO
    no_auth.run()
    assert any("[auth.okta] is missing" in e.value for e in no_auth.error)
