"""The Lists page under AppTest: roles, filters, open, duplicate (re-checked), archive."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from core.store import NewItem
from dashboard import state

pytestmark = pytest.mark.usefixtures("atelier_env")


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text"):  # fmt: skip
        parts += [str(e.value) for e in at.get(kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def row_ids(at: AppTest) -> list[int]:
    keys = [b.key for b in at.button if b.key and b.key.startswith("lists:open:")]
    return [int(k.rsplit(":", 1)[1]) for k in keys]


@pytest.fixture(scope="module")
def dataset(atelier_env):
    from core.app.bootstrap import load_data
    from core.settings import Settings

    return load_data(Settings(data_dir=atelier_env.data_dir))


def generated(dataset, n: int, store: str | None = None) -> str:
    """A generated client near the middle of the table (away from other modules' picks).

    With ``store``, one of that home store (whose lists the store's colleagues share).
    """
    c = dataset.clients
    keep = ~c["client_id"].str.match(r"^(t_|h_)") & c["last_contacted_at"].isna()
    if store is not None:
        keep &= c["home_store_id"] == store
    ids = c.loc[keep, "client_id"]
    return str(ids.iloc[len(ids) // 2 + n])


def full_name(dataset, cid: str) -> str:
    row = dataset.client(cid)
    return f"{row['first_name']} {row['last_name']}"


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_lists_page_is_for_associates_and_stylists_only(atelier_env, role, sign_in_for_test):
    at = AppTest.from_file(str(state.DASHBOARD_DIR / "app_pages" / "lists.py"))
    sign_in_for_test(at.session_state, atelier_env.users[role].user_id)
    run(at)
    assert f"not available for your role ({role})" in at.error[0].value
    assert not row_ids(at)


def test_filters_search_status_and_author(open_app, atelier_env, app_store, dataset):
    me, other = atelier_env.users["associate"].user_id, atelier_env.users["stylist"].user_id
    # Clients of my store: a colleague's list for one of them is shared with me.
    home = atelier_env.users["associate"].store_id
    a, b, c = generated(dataset, 0, home), generated(dataset, 1, home), generated(dataset, 2, home)
    pid = str(dataset.products["product_id"].iloc[3])
    mine = app_store.lists.create_list(a, me, "Autumn edit", items=[NewItem(pid)])
    theirs = app_store.lists.create_list(b, other, "Gala picks", items=[NewItem(pid)])
    old = app_store.lists.create_list(c, me, "Old idea", items=[NewItem(pid)])
    app_store.lists.archive(old.list_id, expected_version=old.version, actor_id=me)

    at = open_app("associate", page="lists")
    ids = row_ids(at)
    assert mine.list_id in ids and theirs.list_id not in ids and old.list_id not in ids
    assert full_name(dataset, a) in texts(at) and "Autumn edit" in texts(at)

    at.radio(key="lists:whose").set_value("My store's")
    run(at)
    assert theirs.list_id in row_ids(at)

    at.text_input(key="lists:query").input("gala picks")  # other modules make "Gala ..." lists too
    run(at)
    assert row_ids(at) == [theirs.list_id]

    at.text_input(key="lists:query").input("")
    at.multiselect(key="lists:status").set_value(["archived"])
    run(at)
    assert old.list_id in row_ids(at) and mine.list_id not in row_ids(at)
    assert at.button(key=f"lists:open:{old.list_id}").disabled


def test_open_switches_to_the_client_page_with_that_list(open_app, atelier_env, app_store,
                                                         dataset):  # fmt: skip
    me = atelier_env.users["associate"].user_id
    cid = generated(dataset, 3)
    pids = [str(p) for p in dataset.products["product_id"].iloc[5:8]]
    rec = app_store.lists.create_list(cid, me, "To open", items=[NewItem(p) for p in pids])
    at = open_app("associate", page="lists")
    at.button(key=f"lists:open:{rec.list_id}").click()
    run(at)
    assert at.session_state[state.SELECTED_CLIENT] == cid
    assert at.session_state[state.DRAFT_LIST] == rec.list_id
    assert at.header[0].value  # the Client page header
    keys = [b.key for b in at.button if b.key and b.key.startswith(f"cur:{cid}:pin:")]
    assert [k.rsplit(":", 1)[1] for k in keys] == pids


def test_duplicate_rechecks_rules_and_reports_dropped(open_app, atelier_env, app_store, dataset):
    me = atelier_env.users["stylist"].user_id
    source, target = generated(dataset, 4), generated(dataset, 5)
    pids = [str(p) for p in dataset.products["product_id"].iloc[10:14]]
    rec = app_store.lists.create_list(source, me, "To copy", items=[NewItem(p) for p in pids])
    # The target client disliked one of them before: their rules now exclude it.
    app_store.lists.record_removal(target, pids[1], "Not her style", me)
    at = open_app("stylist", page="lists")
    at.text_input(key=f"lists:dup_q:{rec.list_id}").input(target)
    run(at)
    assert at.selectbox(key=f"lists:dup_to:{rec.list_id}").options == [
        f"{full_name(dataset, target)} ({target})"
    ]
    at.selectbox(key=f"lists:dup_to:{rec.list_id}").set_value(target)
    at.button(key=f"lists:dup_go:{rec.list_id}").click()
    run(at)
    copy = app_store.lists.get_draft_for_client(target)
    assert copy is not None and pids[1] not in copy.product_ids
    assert set(copy.product_ids) <= set(pids)
    text = texts(at)
    assert "Copied for" in text and "left out by" in text and "removed by associate" in text
    name = str(dataset.product(pids[1])["name"])
    assert name in text


def test_archive(open_app, atelier_env, app_store, dataset):
    me = atelier_env.users["associate"].user_id
    cid = generated(dataset, 6)
    pid = str(dataset.products["product_id"].iloc[20])
    rec = app_store.lists.create_list(cid, me, "To archive", items=[NewItem(pid)])
    at = open_app("associate", page="lists")
    at.button(key=f"lists:arch_go:{rec.list_id}").click()
    run(at)
    assert app_store.lists.get_list(rec.list_id).status == "archived"
    assert "List archived" in texts(at)
    assert rec.list_id not in row_ids(at)


def test_archive_of_a_list_changed_elsewhere_is_refused(open_app, atelier_env, app_store,
                                                        dataset):  # fmt: skip
    me, other = atelier_env.users["associate"].user_id, atelier_env.users["stylist"].user_id
    cid = generated(dataset, 7)
    pid = str(dataset.products["product_id"].iloc[21])
    rec = app_store.lists.create_list(cid, me, "Busy list", items=[NewItem(pid)])
    at = open_app("associate", page="lists")
    app_store.lists.set_list_note(rec.list_id, "x", expected_version=rec.version, actor_id=other)
    at.button(key=f"lists:arch_go:{rec.list_id}").click()
    run(at)
    assert "changed by" in texts(at) and "Nothing was archived" in texts(at)
    assert app_store.lists.get_list(rec.list_id).status == "draft"
