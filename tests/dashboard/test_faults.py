"""Faults under AppTest: a damaged model, invalid data, a database that does not answer or is full.

Each leaves the app serving (the last good model or data, or a clear page), says so
in a visible banner, and loses nothing already saved.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from streamlit.testing.v1 import AppTest

from core.engine.models.persistence import ARRAYS_FILE, META_FILE, load_model
from core.settings import Settings
from core.store import SYSTEM_ACTOR, NewItem, Store, StoreFullError
from dashboard import resources, state
from dashboard.auth import UNRECORDED_SIGN_OUT
from dashboard.widgets.banners import DATABASE_DOWN
from tests.full_database import LONG_NOTE, integrity, snapshot

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("atelier_env")]


def banners(at: AppTest) -> str:
    return "\n".join(str(w.value) for w in at.warning).replace("\\", "")


def errors(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.error).replace("\\", "")


@pytest.fixture
def own_data(atelier_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the maison's data folder, with its saved model, that the app uses."""
    data_dir = tmp_path / "data"
    shutil.copytree(atelier_env.data_dir, data_dir)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(data_dir))
    return data_dir


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damage_model(model_dir: Path) -> None:
    """Half an arrays file, and the metadata written again (a save cut short)."""
    truncate(model_dir / ARRAYS_FILE)
    meta = model_dir / META_FILE
    text = meta.read_text(encoding="utf-8")
    meta.unlink()
    meta.write_text(text, encoding="utf-8")


def test_a_truncated_model_at_start_is_refitted_with_a_banner(open_app, own_data):
    model_dir = own_data / "model"
    truncate(model_dir / ARRAYS_FILE)
    at = open_app("associate", page="client", state={state.SELECTED_CLIENT: "t_isa"})
    assert "could not start" not in errors(at)
    text = banners(at)
    assert "saved recommendation model could not be read" in text and "refitted it" in text
    assert "arrays.npz is damaged" in text  # the reason, in the banner itself
    assert at.header[0].value  # the client page is served
    settings = Settings()
    assert load_model(model_dir, resources.get_dataset(settings)) is not None  # saved whole


def test_a_model_damaged_while_serving_keeps_the_last_good_one_and_refits(open_app, own_data):
    at = open_app("associate", page="client", state={state.SELECTED_CLIENT: "t_isa"})
    assert "model could not be read" not in banners(at)
    damage_model(own_data / "model")
    at.run()
    assert not at.exception, at.exception
    text = banners(at)
    assert "keeps serving the model it loaded before" in text
    assert "refitting it in the background" in text
    assert at.header[0].value  # suggestions and client page still served
    settings = Settings()
    deadline = time.monotonic() + 300
    while any(f.fraction is not None for f in resources.faults(settings)):
        assert time.monotonic() < deadline, "the background refit did not finish"
        time.sleep(0.5)
    at.run()
    assert not at.exception, at.exception
    assert "model could not be read" not in banners(at)  # the new model loaded: all is well
    assert load_model(own_data / "model", resources.get_dataset(settings)) is not None


def test_invalid_data_replacing_good_data_leaves_the_last_good_data_in_service(open_app, own_data):
    at = open_app("associate", page="client", state={state.SELECTED_CLIENT: "t_isa"})
    products = pd.read_csv(own_data / "products.csv", dtype=str, keep_default_na=False)
    before = resources.get_dataset(Settings())
    products.loc[0, "price"] = "twelve"
    products.to_csv(own_data / "products.csv", index=False)
    at.run()
    assert not at.exception, at.exception
    assert "could not be loaded" not in errors(at)
    text = banners(at)
    assert "do not pass validation" in text and "keeps serving the data it loaded before" in text
    assert "products.csv" in text and "twelve" in text
    assert at.header[0].value.replace("\\", "") == "Isabelle Quatremain"
    assert resources.get_dataset(Settings()) is before


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_an_unreachable_database_at_start_gives_a_clear_page(open_app, monkeypatch):
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://atelier:secret@127.0.0.1:{_closed_port()}/atelier"
    monkeypatch.setenv("ATELIER_DATABASE_URL", url)
    at = open_app()
    assert DATABASE_DOWN in errors(at) and "nothing can be shown or saved" in errors(at)
    details = "\n".join(str(c.value) for c in at.code)
    assert "127.0.0.1" in details and "secret" not in details  # never the password


@pytest.fixture
def own_postgres_database(atelier_env, db_backend: str):
    """A PostgreSQL database of its own (so it can be closed to connections), dropped after."""
    if db_backend != "postgresql":
        pytest.skip("closing a database to connections needs PostgreSQL")
    base = make_url(os.environ["ATELIER_TEST_POSTGRES_URL"])
    name = f"atelier_down_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def sql(statement: str) -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(statement)

    sql(f"CREATE DATABASE {name}")
    yield base.set(database=name).render_as_string(hide_password=False), sql, name
    sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def test_a_database_going_down_gives_a_clear_page_and_loses_nothing(
    open_app, atelier_env, own_postgres_database, monkeypatch
):
    url, sql, name = own_postgres_database
    store = Store.open(url=url)
    u = atelier_env.users["associate"]
    _, generated = store.users.create_user(
        u.user_id, u.name, u.role, u.store_id, actor_id=SYSTEM_ACTOR
    )
    store.users.change_password(u.user_id, generated, u.password)
    saved = store.lists.create_list("t_isa", u.user_id, "Saved before", items=[NewItem("P1")])
    store.close()
    monkeypatch.setenv("ATELIER_DATABASE_URL", url)
    at = open_app("associate", page="lists")
    assert DATABASE_DOWN not in errors(at)

    sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    at.run()
    assert not at.exception, at.exception
    assert DATABASE_DOWN in errors(at)

    sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    at.run()
    assert not at.exception, at.exception
    assert DATABASE_DOWN not in errors(at)
    assert at.title[0].value == "Lists"
    after = Store.open(url=url)
    kept = after.lists.get_list(saved.list_id)
    after.close()
    assert (kept.title, kept.version, kept.product_ids) == ("Saved before", 1, ["P1"])


@pytest.fixture
def full_database(atelier_env, atelier_fullable_database, monkeypatch):
    """The app on a database of its own that the test can fill and free (tests/full_database.py)."""
    db = atelier_fullable_database
    store = Store.open(url=db.url)
    u = atelier_env.users["associate"]
    _, generated = store.users.create_user(
        u.user_id, u.name, u.role, u.store_id, actor_id=SYSTEM_ACTOR
    )
    store.users.change_password(u.user_id, generated, u.password)
    store.close()
    monkeypatch.setenv("ATELIER_DATABASE_URL", db.url)
    peek = create_engine(db.url)  # a reader of its own, to compare every table
    snapshot(peek)  # connected before the disk fills (a full disk may refuse a new backend)
    yield db, peek
    peek.dispose()


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_full_database_refuses_a_save_clearly_keeps_the_typed_note_and_loses_nothing(
    open_app, full_database
):
    db, peek = full_database
    cid = "t_isa"
    at = open_app("associate", page="client", state={state.SELECTED_CLIENT: cid})
    first = next(b.key for b in at.button if b.key and b.key.startswith(f"cur:{cid}:pin:"))
    click(at, first)  # saves the suggestions as a draft, that one pinned
    draft = Store.open(url=db.url)
    saved = draft.lists.get_draft_for_client(cid)
    draft.close()
    click(at, f"cur:{cid}:list_note_open")
    at.text_area(key=f"cur:{cid}:note:list").input(LONG_NOTE)

    db.fill()
    before = snapshot(peek)
    click(at, f"cur:{cid}:note_go:list")
    assert StoreFullError.MESSAGE in errors(at)
    assert "Traceback" not in errors(at) and DATABASE_DOWN not in errors(at)
    assert at.text_area(key=f"cur:{cid}:note:list").value == LONG_NOTE  # the typed text is kept
    assert snapshot(peek) == before and integrity(peek) == "ok"  # nothing saved, nothing lost
    # The app keeps serving what only reads: this page again, and another session's Lists.
    at.run()
    assert not at.exception, at.exception
    assert at.header[0].value.replace("\\", "") == "Isabelle Quatremain"
    lists = open_app("associate", page="lists")
    assert StoreFullError.MESSAGE not in errors(lists) and lists.title[0].value == "Lists"
    assert saved.title in "\n".join(str(m.value) for m in lists.markdown)  # the draft is listed

    db.free()
    click(at, f"cur:{cid}:note_go:list")  # the same save, once there is room
    assert StoreFullError.MESSAGE not in errors(at)
    after = Store.open(url=db.url)
    kept = after.lists.get_list(saved.list_id)
    after.close()
    assert (kept.note, kept.pinned_ids, kept.product_ids) == (
        LONG_NOTE,
        saved.pinned_ids,
        saved.product_ids,
    )
    assert kept.version == saved.version + 1


def test_signing_out_with_a_full_database_signs_out_and_says_it_was_not_recorded(
    open_app, atelier_env, full_database
):
    db, peek = full_database
    at = open_app("associate", page="account")
    db.fill()
    # Room even for a small audit entry gone: the same entry as the sign-out's, shorter.
    who = atelier_env.users["associate"].user_id
    store = Store.open(url=db.url)
    with pytest.raises(StoreFullError):  # noqa: PT012 - append until refused
        for _ in range(1000):
            store.audit.append(who, "logout", "user", who, {})
    store.close()
    before = snapshot(peek)
    click(at, "acct:sign_out")
    assert at.session_state[state.USER_ID] is None  # signed out all the same
    notices = "\n".join(str(i.value) for i in at.info)
    assert "You are signed out." in notices and UNRECORDED_SIGN_OUT in notices
    assert snapshot(peek) == before and integrity(peek) == "ok"
