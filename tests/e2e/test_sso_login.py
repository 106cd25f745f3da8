"""Single sign-on end to end: Chromium, the app and a stand-in OIDC provider, all on loopback.

The real ``st.login`` flow: the button, the redirect to the provider, the code
exchange and the ID token check (Authlib), Streamlit's identity cookie, then
Atelier's mapping of the claims to a user. Skipped without Authlib (the
``sso`` extra).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

pytest.importorskip("authlib", reason="single sign-on needs Authlib: pip install -e '.[sso]'")
from tests.e2e.oidc_stand_in import StandInProvider  # noqa: E402  (needs joserfc, with Authlib)

pytestmark = [pytest.mark.e2e, pytest.mark.security]

LABEL = "House SSO"
REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SsoServer:
    url: str
    provider: StandInProvider
    database_url: str
    store_id: str
    log: Path


def _secrets(port: int, provider: StandInProvider) -> str:
    return f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"

[auth.standin]
client_id = "{provider.client_id}"
client_secret = "{provider.client_secret}"
server_metadata_url = "{provider.metadata_url}"
client_kwargs = {{ scope = "openid email profile groups", prompt = "login" }}

[sso]
provider = "standin"
label = "{LABEL}"
store_claim = "store"

[sso.roles]
"atelier-stylists" = "stylist"
"atelier-admins" = "admin"
"""


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise AssertionError("streamlit exited:\n" + log.read_text(encoding="utf-8"))
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("streamlit did not answer /_stcore/health in time")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoServer]:
    """The app, with [auth] and [sso] pointing at a stand-in provider, on its own maison."""
    from core.data.generate import write_maison

    root = tmp_path_factory.mktemp("sso")
    data_dir = root / "data"
    write_maison(data_dir, n_clients=150, n_products=80, seed=3)
    store_id = str(pd.read_csv(data_dir / "stores.csv", dtype=str)["store_id"].iloc[0])
    provider = StandInProvider("atelier", secrets.token_urlsafe(16)).start()
    port = free_port()
    app_dir = root / "app"  # Streamlit reads .streamlit/ from the working directory
    (app_dir / ".streamlit").mkdir(parents=True)
    shutil.copy(REPO_ROOT / ".streamlit" / "config.toml", app_dir / ".streamlit" / "config.toml")
    (app_dir / ".streamlit" / "secrets.toml").write_text(_secrets(port, provider))
    database_url = f"sqlite:///{(root / 'atelier.db').as_posix()}"
    env = {**os.environ, "ATELIER_DATA_DIR": str(data_dir), "ATELIER_DATABASE_URL": database_url,
           "PYTHONUNBUFFERED": "1",
           # This checkout's code, not an installed one: the app runs from app_dir.
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    env.pop("ATELIER_MODEL_DIR", None)
    log = root / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "app.py"),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=app_dir, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield SsoServer(url, provider, database_url, store_id, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        provider.stop()


def _sign_in(page: Page, server: SsoServer, helpers) -> None:
    page.goto(server.url)
    helpers.wait_for_app(page)
    page.get_by_role("button", name=f"Sign in with {LABEL}").click()
    page.wait_for_url(f"{server.url}/**", timeout=60_000)  # back from the provider
    helpers.wait_for_app(page)


def test_a_provider_sign_in_opens_atelier_with_the_role_from_the_groups(
    browser: Browser, sso_server: SsoServer, app_helpers
):
    from core.store import Store

    sso_server.provider.claims = {
        "email": "Agnes.Martel@House.example", "email_verified": True, "name": "Agnès Martel",
        "groups": ["everyone", "atelier-stylists"], "store": sso_server.store_id,
    }  # fmt: skip
    context = browser.new_context()
    page = context.new_page()
    try:
        _sign_in(page, sso_server, app_helpers)
        expect(page.get_by_role("heading", name="Client lookup")).to_be_visible(timeout=120_000)
        assert sso_server.provider.issued, "the provider issued no ID token"
        store = Store.open(url=sso_server.database_url)
        try:
            user = store.users.get_user("agnes.martel@house.example")
            assert (user.role, user.store_id) == ("stylist", sso_server.store_id)
            assert store.audit.query(action="login", limit=None)[0].details == {"via": "standin"}
        finally:
            store.close()
        page.reload()  # Streamlit's identity cookie keeps them signed in
        app_helpers.wait_for_app(page)
        expect(page.get_by_role("heading", name="Client lookup")).to_be_visible(timeout=60_000)
    finally:
        context.close()


def test_a_provider_sign_in_without_an_atelier_group_is_refused_with_the_reason(
    browser: Browser, sso_server: SsoServer, app_helpers
):
    sso_server.provider.claims = {"email": "guest@house.example", "groups": ["everyone"]}
    context = browser.new_context()
    page = context.new_page()
    try:
        _sign_in(page, sso_server, app_helpers)
        expect(page.get_by_text("Single sign-on refused")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("button", name=f"Sign out of {LABEL}")).to_be_visible()
        expect(page.get_by_role("heading", name="Client lookup")).to_have_count(0)
    finally:
        context.close()
