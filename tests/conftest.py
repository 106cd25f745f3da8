"""Shared fixtures: a small generated maison, a temporary database, the app under AppTest.

The maison (300 clients, 150 products) is generated once per session into a
temporary folder, with a few planted clients the dashboard tests search for
(typos, accents) and hostile names (HTML, Markdown, emoji, right-to-left,
5,000 characters). ``ATELIER_DATA_DIR`` and ``ATELIER_DATABASE_URL`` point
there for the rest of the session once :func:`atelier_env` is requested, so
the app never touches ``data/`` of the checkout.

Every database a test gets comes from :func:`db_backend`, parametrised over
SQLite and PostgreSQL: a test that asks for :func:`atelier_db_url` or
:func:`atelier_env` runs once on each (``test_x[sqlite]``, ``test_x[postgresql]``).
PostgreSQL needs ``ATELIER_TEST_POSTGRES_URL`` (``source .ci/postgres.sh`` starts a
throwaway cluster and sets it); without it those runs are skipped, except in CI
(``ATELIER_REQUIRE_PG=1`` or ``ATELIER_REQUIRE_BROWSER=1``), where they fail.
Each test's PostgreSQL database is a schema of its own, dropped afterwards.

Fixture names are prefixed ``atelier_``/``app_`` so tests elsewhere can keep
their own ``dataset``/``store``/``db_url`` fixtures.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_PATH = REPO_ROOT / "dashboard" / "app.py"
PAGES_DIR = REPO_ROOT / "dashboard" / "app_pages"
APP_TIMEOUT = 120

#: The planted clients: id -> (first name, last name). All in the main associate's store.
PLANTED: dict[str, tuple[str, str]] = {
    "t_isa": ("Isabelle", "Quatremain"),
    "t_zoe": ("Zoé", "Vandermeer"),
    "t_fra": ("François", "Delaunay-Roche"),
}
#: The planted next step (:mod:`core.engine.transitions`): six clients bought
#: the entry piece and then the signature piece; ``t_next`` has bought only the
#: entry piece, and her suggestions lead on to the signature piece.
NEXT_STEP_FOLLOWERS = tuple(f"t_step{i}" for i in range(6))
NEXT_STEP_CLIENT = "t_next"
HOSTILE: dict[str, tuple[str, str]] = {
    "h_script": ("<script>alert('x')</script>", "<img src=x onerror=alert(1)>"),
    "h_md": ("**Bold** _it_ [link](http://evil.example)", "# Heading :red[red] $x^2$"),
    "h_emoji": ("👑✨ Zoë", "Ōtsuka 🌸"),
    "h_rtl": ("مريم", "العلي"),
    "h_long": ("Long" + "x" * 5000, "Name"),
}


#: The environment variable naming a scratch PostgreSQL database (see .ci/postgres.sh).
PG_URL_ENV = "ATELIER_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def postgres_required() -> bool:
    """Whether a missing PostgreSQL must fail the run (CI) rather than skip its tests."""
    return any(os.environ.get(v) == "1" for v in ("ATELIER_REQUIRE_PG", "ATELIER_REQUIRE_BROWSER"))


class Databases:
    """Fresh, isolated databases on one backend: SQLite files, or PostgreSQL schemas.

    A PostgreSQL database is a new schema in the scratch database, reached through a
    URL whose ``search_path`` names it, so the app and every engine opened on the URL
    see only that schema; :meth:`drop` removes it with everything in it.
    """

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self._schemas: list[str] = []

    def new(self, name: str = "atelier") -> str:
        """The URL of a new, empty database."""
        if self.backend == "sqlite":
            path = self.folder / f"{name}-{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path.as_posix()}"
        schema = f"t_{uuid.uuid4().hex[:16]}"
        self._admin(f"CREATE SCHEMA {schema}")
        self._schemas.append(schema)
        base = make_url(os.environ[PG_URL_ENV])
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def drop(self) -> None:
        """Drop every PostgreSQL schema :meth:`new` made (SQLite files go with tmp_path)."""
        while self._schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {self._schemas.pop()} CASCADE")

    @staticmethod
    def _admin(statement: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        engine = create_engine(os.environ[PG_URL_ENV], poolclass=NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this run of the test: ``sqlite`` or ``postgresql``."""
    backend = str(request.param)
    if backend == "postgresql" and not os.environ.get(PG_URL_ENV):
        reason = f"{PG_URL_ENV} is not set (source .ci/postgres.sh starts a throwaway cluster)"
        if postgres_required():
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(reason)
    return backend


@pytest.fixture
def atelier_databases(db_backend: str, tmp_path: Path) -> Iterator[Databases]:
    """A maker of fresh databases on this run's backend, all dropped after the test."""
    databases = Databases(db_backend, tmp_path)
    yield databases
    databases.drop()


@pytest.fixture
def atelier_db_url(atelier_databases: Databases) -> str:
    """The URL of a fresh, empty database on this run's backend."""
    return atelier_databases.new()


@pytest.fixture
def atelier_fullable_database(db_backend: str, tmp_path: Path) -> Iterator[Any]:
    """A database on this run's backend that the test can fill and free (tests/full_database.py).

    ``.url``, ``.fill()`` (no room left: writes that need more fail as on a full
    disk), ``.free()`` (room again). PostgreSQL's needs root and ``mount``; skipped otherwise.
    """
    from tests.full_database import PostgresOnTinyDisk, SqliteAtLimit

    database: Any
    if db_backend == "sqlite":
        database = SqliteAtLimit(tmp_path / "full.db")
    else:
        database = PostgresOnTinyDisk(os.environ[PG_URL_ENV])
    yield database
    database.close()


@dataclass(frozen=True)
class AppUser:
    """A signed-up user of the test database and their password."""

    user_id: str
    name: str
    role: str
    store_id: str | None
    password: str


@dataclass(frozen=True)
class AtelierEnv:
    """Where the session's maison and database live, and who can sign in."""

    data_dir: Path
    database_url: str
    users: dict[str, AppUser]  # keys: associate, associate_other, stylist, manager, admin
    lockout_user: AppUser
    names: dict[str, tuple[str, str]]  # planted client id -> (first name, last name)


def _plant_clients(data_dir: Path) -> None:
    clients = pd.read_csv(data_dir / "clients.csv", dtype=str, keep_default_na=False)
    events = pd.read_csv(data_dir / "events.csv", dtype=str, keep_default_na=False)
    associates = pd.read_csv(data_dir / "associates.csv", dtype=str, keep_default_na=False)
    main = _main_associate(clients, associates)
    as_of = pd.Timestamp(events["timestamp"].max())
    birthday = (as_of + pd.Timedelta(days=10)).replace(year=1980)
    rows = []
    for cid, (first, last) in {**PLANTED, **HOSTILE}.items():
        row = dict.fromkeys(clients.columns, "")
        row.update(
            client_id=cid,
            first_name=first,
            last_name=last,
            home_store_id=main["store_id"],
            tier="vic" if cid == "t_isa" else "client",
            consent_personalization="True",
            consent_contact="True",
            assigned_associate_id=main["user_id"],
            sustainable_only="False",
        )
        if cid == "t_isa":
            row.update(
                email="isabelle.q@example.com",
                phone="+33 6 11 22 33 44",
                birthday=birthday.strftime("%Y-%m-%d"),
                pref_colors="black|camel",
                pref_materials="cashmere",
                size_rtw="S",
            )
        rows.append(row)
    for cid in (*NEXT_STEP_FOLLOWERS, NEXT_STEP_CLIENT):
        row = dict.fromkeys(clients.columns, "")
        row.update(
            client_id=cid,
            first_name="Nora" if cid == NEXT_STEP_CLIENT else "Step",
            last_name="Suivante" if cid == NEXT_STEP_CLIENT else cid[-1],
            home_store_id=main["store_id"],
            tier="client",
            consent_personalization="True",
            consent_contact="False",
            sustainable_only="False",
        )
        rows.append(row)
    clients = pd.concat([clients, pd.DataFrame(rows)], ignore_index=True)
    clients.to_csv(data_dir / "clients.csv", index=False)
    products = pd.read_csv(data_dir / "products.csv", dtype=str, keep_default_na=False)
    p1, p2 = products["product_id"].iloc[0], products["product_id"].iloc[1]
    entry, signature = next_step_pair(data_dir)
    steps = []
    for cid in NEXT_STEP_FOLLOWERS:
        steps += [(cid, entry, 60), (cid, signature, 30)]
    steps.append((NEXT_STEP_CLIENT, entry, 10))
    extra = pd.DataFrame(
        [
            {"client_id": "t_isa", "product_id": p1, "event_type": "purchase",
             "timestamp": str(as_of - pd.Timedelta(days=20)), "channel": "store",
             "store_id": main["store_id"], "quantity": "1", "value": "1200.0", "is_gift": "False"},
            {"client_id": "t_isa", "product_id": p2, "event_type": "view",
             "timestamp": str(as_of - pd.Timedelta(days=5)), "channel": "online",
             "store_id": "online", "quantity": "1", "value": "0.0", "is_gift": "False"},
        ]
    )  # fmt: skip
    bought = [
        {"client_id": cid, "product_id": pid, "event_type": "purchase",
         "timestamp": str(as_of - pd.Timedelta(days=days)), "channel": "store",
         "store_id": main["store_id"], "quantity": "1", "value": "900.0", "is_gift": "False"}
        for cid, pid, days in steps
    ]  # fmt: skip
    extra = pd.concat([extra, pd.DataFrame(bought)], ignore_index=True)
    extra = extra.reindex(columns=events.columns, fill_value="")  # optional columns stay empty
    pd.concat([events, extra], ignore_index=True).to_csv(data_dir / "events.csv", index=False)


def next_step_pair(data_dir: Path) -> tuple[str, str]:
    """The planted next step's entry and signature pieces: unsized, in stock in every store."""
    products = pd.read_csv(data_dir / "products.csv", dtype=str, keep_default_na=False)
    stock = pd.read_csv(data_dir / "stock.csv", dtype=str, keep_default_na=False)
    stock["quantity"] = stock["quantity"].astype(int)
    stocked = stock.groupby("product_id")["quantity"].min()
    events = pd.read_csv(data_dir / "events.csv", usecols=["timestamp"])
    launched = pd.to_datetime(products["launch_date"], errors="coerce")
    long_ago = pd.Timestamp(events["timestamp"].max()) - pd.Timedelta(days=120)
    ok = products[
        (products["sizes"] == "")
        & (products["sensitive"].str.lower() != "true")
        & products["product_id"].map(stocked).gt(0)
        & (launched < long_ago)
    ]["product_id"]
    return str(ok.iloc[2]), str(ok.iloc[3])


def _main_associate(clients: pd.DataFrame, associates: pd.DataFrame) -> pd.Series:
    """The store associate with the most assigned clients (the tests' "associate")."""
    assoc = associates[associates["role"] == "associate"]
    counts = clients["assigned_associate_id"].value_counts()
    best = max(assoc["user_id"], key=lambda u: (int(counts.get(u, 0)), u))
    row = assoc.set_index("user_id").loc[best].copy()
    row["user_id"] = best
    return row


def _pick_users(associates: pd.DataFrame, main_id: str, passwords: dict[str, str]) -> dict:
    by_id = associates.set_index("user_id")
    main_store = by_id.loc[main_id, "store_id"]

    def user(uid: str) -> AppUser:
        row = by_id.loc[uid]
        store = row["store_id"] or None
        return AppUser(uid, row["name"], row["role"], store, passwords[uid])

    def first(mask: pd.Series) -> str:
        return str(associates.loc[mask, "user_id"].iloc[0])

    role, store = associates["role"], associates["store_id"]
    return {
        "associate": user(main_id),
        "associate_other": user(first((role == "associate") & (store != main_store))),
        "stylist": user(first(role == "stylist")),
        "manager": user(first(role == "manager")),
        "admin": user(first(role == "admin")),
    }


def _settle_passwords(store: Any, users: dict[str, AppUser]) -> dict[str, AppUser]:
    """Each user chooses their own password, as at a first sign-in.

    Until then a user may open only the Account page; the tests of that are
    the ones that create a user of their own.
    """
    settled: dict[str, AppUser] = {}
    for key, user in users.items():
        chosen = f"chosen-{user.user_id}-password"
        store.users.change_password(user.user_id, user.password, chosen)
        settled[key] = replace(user, password=chosen)
    return settled


@pytest.fixture(scope="session")
def atelier_maison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated maison's data folder, with its fitted model (shared by both backends)."""
    from core.app import bootstrap
    from core.data.generate import write_maison
    from core.settings import Settings

    data_dir = tmp_path_factory.mktemp("atelier") / "data"
    write_maison(data_dir, n_clients=300, n_products=150)
    _plant_clients(data_dir)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ATELIER_MODEL_DIR", raising=False)
        settings = Settings(data_dir=data_dir)
        bootstrap.load_or_fit_model(bootstrap.load_data(settings), settings)
    return data_dir


@pytest.fixture(scope="session")
def atelier_env(
    atelier_maison: Path, db_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AtelierEnv]:
    """The maison + a database with users on this run's backend, and env vars pointing there."""
    from core.app import bootstrap
    from core.settings import Settings
    from core.store import SYSTEM_ACTOR, Store

    data_dir = atelier_maison
    databases = Databases(db_backend, tmp_path_factory.mktemp(f"db-{db_backend}"))
    database_url = databases.new()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATELIER_DATA_DIR", str(data_dir))
        mp.setenv("ATELIER_DATABASE_URL", database_url)
        mp.delenv("ATELIER_MODEL_DIR", raising=False)
        settings = Settings()
        dataset = bootstrap.load_data(settings)
        store = Store.open(settings)
        created = store.users.seed_users_from_associates(dataset.associates, actor_id=SYSTEM_ACTOR)
        passwords = {uid: pw for uid, _name, _role, pw in created}
        associates = dataset.associates.fillna({"store_id": ""})
        clients = dataset.clients
        main = _main_associate(clients, associates)["user_id"]
        users = _settle_passwords(store, _pick_users(associates, str(main), passwords))
        lock_record, lock_pw = store.users.create_user(
            "lockme", "Lock Test", "associate", users["associate"].store_id,
            password="lockme-password-1", actor_id=SYSTEM_ACTOR,
        )  # fmt: skip
        store.close()
        lockout = AppUser(lock_record.user_id, lock_record.name, "associate",
                          lock_record.store_id, lock_pw)  # fmt: skip
        yield AtelierEnv(data_dir, database_url, users, lockout, {**PLANTED, **HOSTILE})
    databases.drop()


@pytest.fixture
def app_store(atelier_env: AtelierEnv) -> Iterator[object]:
    """A :class:`core.store.Store` on the session's database (to check audit entries)."""
    from core.store import Store

    store = Store.open(url=atelier_env.database_url)
    yield store
    store.close()


def sign_in_session(
    session: MutableMapping[str, Any], user_id: str, *, now: float | None = None
) -> None:
    """Sign ``user_id`` in without a password (e.g. ``at.session_state`` of an AppTest).

    Writes what :class:`dashboard.auth.PasswordAuthenticator` keeps after a
    sign-in; the user must still exist and be active in the database, since the
    next run reads them. Test-only: the app itself has no way in without a password.
    """
    from dashboard import state

    session[state.USER_ID] = user_id
    session[state.LAST_SEEN] = time.time() if now is None else now


@pytest.fixture
def sign_in_for_test() -> Callable[..., None]:
    """:func:`sign_in_session` for test modules (a conftest is not importable)."""
    return sign_in_session


def page_path(name: str) -> str:
    """A page script's path as AppTest.switch_page wants it."""
    return str(PAGES_DIR / f"{name}.py")


@pytest.fixture
def open_app(atelier_env: AtelierEnv, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Start the app under AppTest, optionally signed in as a role, optionally on a page.

    ``open_app("associate", page="lookup", state={"selected_client_id": "t_isa"})``
    returns the AppTest after its first run(s); it asserts no exception was raised.
    """
    from streamlit.testing.v1 import AppTest

    # From the repository root, so .streamlit/config.toml is read as in production.
    monkeypatch.chdir(REPO_ROOT)

    def start(
        role: str | None = None,
        *,
        page: str | None = None,
        state: dict[str, object] | None = None,
        user_id: str | None = None,
    ) -> AppTest:
        at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)
        who = user_id or (atelier_env.users[role].user_id if role else None)
        if who:
            sign_in_session(at.session_state, who)
        for key, value in (state or {}).items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, at.exception
        if page is not None:
            at.switch_page(page_path(page))
            at.run()
            assert not at.exception, at.exception
        return at

    return start
