"""Browser tests: Debian's Chromium, two tablet viewports, one app server per session.

- ``browser_type_launch_args`` launches ``/usr/bin/chromium`` (or ``chromium`` on PATH);
  without it the tests are skipped with a reason, unless ``ATELIER_REQUIRE_BROWSER=1``
  (CI), where they fail.
- ``browser_context_args`` runs every test at 1180x820 and 1024x768.
- ``atelier_server`` starts ``streamlit run dashboard/app.py`` on a free port with its
  own generated demo maison and database, waits for ``/_stcore/health`` and stops that
  one process at the end. The demo users it creates on first start are read back from
  what it printed to its terminal; each then chooses their own password (through the
  store, as they would on the Account page at first sign-in), since a generated password
  opens only the Account page. ``Server.new_user`` makes a user who has not yet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
VIEWPORTS = {"tablet-landscape": (1180, 820), "tablet-small": (1024, 768)}
START_TIMEOUT = 60
FIRST_RUN_TIMEOUT_MS = 180_000


def find_chromium() -> str | None:
    """Debian's Chromium binary, if installed."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    executable = find_chromium()
    if executable is None:
        reason = (
            "no Chromium found (apt-get install -y chromium); "
            "Playwright's own browser download does not work here"
        )
        if os.environ.get("ATELIER_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " and ATELIER_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    args = [*browser_type_launch_args.get("args", []), "--disable-gpu", "--disable-quic"]
    return {**browser_type_launch_args, "executable_path": executable, "args": args}


@pytest.fixture(scope="session", params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    width, height = VIEWPORTS[request.param]
    return {"width": width, "height": height}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, viewport: dict[str, int]) -> dict:
    return {**browser_context_args, "viewport": viewport, "has_touch": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running app: its URL, data folder, terminal log and the typo'd client to find."""

    url: str
    data_dir: Path
    log: Path
    client_id: str
    client_name: str
    typo_query: str
    associate_id: str
    database_url: str = ""
    chosen: dict[str, str] = field(default_factory=dict)  # user id -> password they chose

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def _store(self):
        from core.store import Store

        return Store.open(url=self.database_url)

    def _settled(self, user_id: str, printed: str) -> str:
        """The password ``user_id`` uses: their own, chosen once in place of the printed one."""
        if user_id not in self.chosen:
            store = self._store()
            try:
                chosen = f"own-{user_id}-password"
                store.users.change_password(user_id, printed, chosen)
            finally:
                store.close()
            self.chosen[user_id] = chosen
        return self.chosen[user_id]

    def new_user(self, user_id: str, role: str = "associate") -> str:
        """Create a user with a generated password (not yet changed); returns that password."""
        store = self._store()
        try:
            from core.store import SYSTEM_ACTOR

            _, password = store.users.create_user(
                user_id, f"Test {role.title()}", role, None, actor_id=SYSTEM_ACTOR
            )
        finally:
            store.close()
        return password

    def printed_credentials(self, timeout: float = 180.0) -> dict[str, tuple[str, str]]:
        """role -> (user id, generated password) as printed in the terminal on first start."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(r"^\s+(associate|stylist|manager|admin)\s+(\S+)\s+(\S+)\s+\(", re.M)
        while time.monotonic() < deadline:
            found: dict[str, tuple[str, str]] = {}
            for role, user_id, password in pattern.findall(self.output()):
                found.setdefault(role, (user_id, password))
            if "Demo sign-ins" in self.output() and len(found) == 4:
                return found
            time.sleep(0.25)
        raise AssertionError("the app did not print demo sign-ins:\n" + self.output()[-3000:])

    def credentials(self, timeout: float = 180.0) -> dict[str, tuple[str, str]]:
        """role -> (user id, password): the printed demo users, with their own passwords."""
        printed = self.printed_credentials(timeout)
        return {role: (uid, self._settled(uid, pw)) for role, (uid, pw) in printed.items()}

    def credential_of(self, user_id: str) -> str:
        pattern = re.compile(rf"^\s+\w+\s+{re.escape(user_id)}\s+(\S+)\s", re.M)
        match = pattern.search(self.output())
        assert match, f"no printed password for {user_id}"
        return self._settled(user_id, match.group(1))


def _typo(name: str) -> str:
    """Drop the second-to-last letter: "Isabelle" -> "Isabele" (a realistic slip)."""
    return name[:-2] + name[-1]


def _make_demo_maison(data_dir: Path) -> tuple[str, str, str, str]:
    """Write a small demo maison; pick an associate's client with a unique name to search."""
    import pandas as pd

    from core.app.bootstrap import DEMO_MARKER
    from core.app.search import normalise
    from core.data.generate import write_maison

    counts = write_maison(data_dir, n_clients=300, n_products=150)
    (data_dir / DEMO_MARKER).write_text(json.dumps({"counts": counts}), encoding="utf-8")
    clients = pd.read_csv(data_dir / "clients.csv", dtype=str, keep_default_na=False)
    associates = pd.read_csv(data_dir / "associates.csv", dtype=str, keep_default_na=False)
    names = clients["first_name"] + " " + clients["last_name"]
    unique = ~names.duplicated(keep=False)
    usable = clients[
        unique
        & (clients["first_name"].str.len() >= 5)
        & (clients["consent_personalization"] == "True")
        & clients["assigned_associate_id"].isin(
            associates.loc[associates["role"] == "associate", "user_id"]
        )
    ]
    row = usable.iloc[0]
    first = normalise(row["first_name"]).capitalize()  # accents dropped as well
    query = f"{_typo(first)} {row['last_name']}"
    return (
        str(row["client_id"]),
        f"{row['first_name']} {row['last_name']}",
        query,
        str(row["assigned_associate_id"]),
    )


@contextmanager
def _running_app(
    root: Path, data_dir: Path, env_extra: dict[str, str]
) -> Iterator[tuple[str, Path, str]]:
    """``streamlit run dashboard/app.py`` on ``data_dir`` with its own database, until the end.

    Yields the URL, the terminal log and the database URL once ``/_stcore/health`` answers.
    """
    port = free_port()
    log = root / "streamlit.log"
    database_url = f"sqlite:///{(root / 'atelier.db').as_posix()}"
    env = {
        **os.environ,
        "ATELIER_DATA_DIR": str(data_dir),
        "ATELIER_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **env_extra,
    }
    env.pop("ATELIER_MODEL_DIR", None)
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError("streamlit exited:\n" + log.read_text(encoding="utf-8"))
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("streamlit did not answer /_stcore/health in time")
            time.sleep(0.3)
        yield url, log, database_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def atelier_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("e2e")
    data_dir = root / "data"
    client_id, client_name, query, associate_id = _make_demo_maison(data_dir)
    with _running_app(root, data_dir, {}) as (url, log, database_url):
        yield Server(url, data_dir, log, client_id, client_name, query, associate_id, database_url)


@pytest.fixture(scope="session")
def served_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo maison in the partitioned layout, served per client (``ATELIER_SERVE=per-client``)
    with the product-side model of the scale-out fit: the app holds no event."""
    from core.app.bootstrap import DEMO_MARKER
    from core.data.dataset import load_dataset
    from core.data.partitioned import write_partitioned
    from core.engine.scale.fit import fit_partitioned
    from core.settings import Settings

    root = tmp_path_factory.mktemp("e2e-served")
    flat, data_dir = root / "flat", root / "data"
    client_id, client_name, query, associate_id = _make_demo_maison(flat)
    ds = load_dataset(flat)
    data_dir.mkdir()
    for name in ("products", "stores", "stock", "associates"):
        getattr(ds, name).to_parquet(data_dir / f"{name}.parquet", index=False)
    for extra in (DEMO_MARKER, *(p.name for p in flat.glob("product_embeddings.*"))):
        shutil.copy(flat / extra, data_dir / extra)
    write_partitioned([(ds.clients, ds.events)], data_dir, 3)
    fit_partitioned(data_dir, "sync", out=Settings(data_dir=data_dir).product_side_model_dir)
    env = {"ATELIER_SERVE": "per-client"}
    with _running_app(root, data_dir, env) as (url, log, database_url):
        yield Server(url, data_dir, log, client_id, client_name, query, associate_id, database_url)


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (``ATELIER_SHOTS_DIR`` to keep them, else a temp folder)."""
    chosen = os.environ.get("ATELIER_SHOTS_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def wait_for_app(page, timeout_ms: int = FIRST_RUN_TIMEOUT_MS) -> None:
    """Wait until the script finished a run (the first one fits the model)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const status = app && app.getAttribute('data-test-script-state');
            return status === 'notRunning';
        }""",
        timeout=timeout_ms,
    )


def open_sign_in(page, server: Server) -> None:
    """Open the app and wait for the sign-in form (the first visit runs start-up)."""
    page.goto(server.url)
    page.get_by_role("textbox", name="User id").wait_for(timeout=FIRST_RUN_TIMEOUT_MS)


def sign_in(page, server: Server, user_id: str, password: str | None = None) -> None:
    """Sign in through the form; ``password=None`` uses the one printed at start-up."""
    open_sign_in(page, server)
    if password is None:
        server.credentials()  # wait until start-up printed them
        password = server.credential_of(user_id)
    page.get_by_role("textbox", name="User id").fill(user_id)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Client lookup").wait_for(timeout=60_000)
    wait_for_app(page)


def screenshot_main(page, path: Path) -> list[Path]:
    """Screenshots of the whole page, scrolling inside stMain (full_page cannot)."""
    files = []
    main = page.locator('[data-testid="stMain"]')
    total = main.evaluate("el => el.scrollHeight")
    height = main.evaluate("el => el.clientHeight")
    offset, i = 0, 0
    while True:
        main.evaluate(f"el => el.scrollTo(0, {offset})")
        page.wait_for_timeout(150)
        target = path.with_name(f"{path.stem}-{i}{path.suffix}")
        page.screenshot(path=str(target))
        files.append(target)
        offset += height
        i += 1
        if offset >= total or i >= 8:
            break
    main.evaluate("el => el.scrollTo(0, 0)")
    return files


def open_client(page, name: str) -> None:
    """From Client lookup: search ``name`` and open the first result, until its suggestions show."""
    from playwright.sync_api import expect

    box = page.get_by_role("textbox", name="Search clients")
    box.fill(name)
    box.press("Enter")
    wait_for_app(page)
    result = page.locator(".st-key-lookup_results button").first
    expect(result).to_contain_text(name, timeout=30_000)
    result.click()
    expect(page.get_by_role("heading", name="Suggestions")).to_be_visible(timeout=60_000)
    wait_for_app(page)


@pytest.fixture
def app_helpers() -> SimpleNamespace:
    """The helpers above for test modules (conftest is not importable as a module):
    ``sign_in(page, server, user_id, password=None)``, ``open_sign_in(page, server)``,
    ``wait_for_app(page)``, ``screenshot_main(page, path)``, ``open_client(page, name)``."""
    return SimpleNamespace(
        sign_in=sign_in,
        open_client=open_client,
        open_sign_in=open_sign_in,
        wait_for_app=wait_for_app,
        screenshot_main=screenshot_main,
    )


@pytest.fixture
def signed_in_page(page, atelier_server: Server):
    """A page signed in as ``atelier_server.associate_id`` (an associate with clients)."""
    sign_in(page, atelier_server, atelier_server.associate_id)
    return page
