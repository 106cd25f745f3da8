"""The Try-on session page under AppTest: record pieces, suggestions change, nothing is kept."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core.app.tryon import SHOWN_ACTION
from dashboard import state

pytestmark = pytest.mark.usefixtures("atelier_env")


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def texts(at: AppTest) -> str:
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "success", "error"):
        parts += [str(e.value) for e in at.get(kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))


def suggested(at: AppTest) -> list[str]:
    prefix = "tryon:tried:"
    return [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]


def pieces(at: AppTest) -> list[str]:
    prefix = "tryon:remove:"
    return [b.key[len(prefix) :] for b in at.button if b.key and b.key.startswith(prefix)]


def record(at: AppTest, product_id: str, kind: str = "tried_on") -> AppTest:
    at.selectbox(key="tryon:pick").set_value(product_id)
    return click(at, f"tryon:add:{kind}")


@pytest.fixture
def database(atelier_env) -> Iterator[sa.Engine]:
    engine = sa.create_engine(atelier_env.database_url)
    yield engine
    engine.dispose()


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, as text (what "stored" means)."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            name: [tuple(map(str, r)) for r in conn.execute(sa.select(table)).all()]
            for name, table in meta.tables.items()
        }


def test_a_walk_in_session_changes_suggestions_at_once_and_leaves_no_trace(
    open_app, database, atelier_env
):
    at = open_app("associate", page="tryon")
    assert "Nothing of this visit is kept" in texts(at)
    assert "Nothing recorded yet" in texts(at)
    generic = suggested(at)
    before = snapshot(database)

    first = generic[3]
    record(at, first)
    assert pieces(at) == [first]
    after_one = suggested(at)
    assert after_one != generic and first not in after_one
    assert "from this visit only" in texts(at)

    second = after_one[0]
    click(at, f"tryon:tried:{second}")  # one tap on a suggestion: tried on
    assert pieces(at) == [first, second]
    after_two = suggested(at)
    assert after_two != after_one and second not in after_two
    assert "tried on the" in texts(at)

    click(at, f"tryon:remove:{second}")
    assert pieces(at) == [first]
    assert suggested(at) == after_one

    click(at, "tryon:end")
    assert at.session_state[state.TRYON]["pieces"] == []
    assert "Session ended: nothing of it was kept." in texts(at)
    assert pieces(at) == [] and suggested(at) == generic

    after = snapshot(database)
    old_audit = before.pop("audit_log")
    new_audit = [r for r in after.pop("audit_log") if r not in old_audit]
    assert after == before  # no other table gained or changed a row
    assert len(new_audit) == 1
    entry = dict(zip(("id", "at", "actor", "action", "ttype", "tid", "details"), new_audit[0],
                     strict=True))  # fmt: skip
    assert (entry["action"], entry["ttype"], entry["tid"]) == (SHOWN_ACTION, "session", "")
    assert entry["actor"] == atelier_env.users["associate"].user_id
    assert first not in entry["details"] and second not in entry["details"]
    assert '"pieces": 1' in entry["details"]


def test_a_client_without_consent_gets_a_session_that_reads_nothing_of_theirs(open_app):
    from core.app.bootstrap import load_data
    from core.settings import Settings

    dataset = load_data(Settings())
    clients, events = dataset.clients, dataset.events
    shy = clients.loc[~clients["consent_personalization"], "client_id"]
    cid = str(next(c for c in shy if (events["client_id"] == c).sum() >= 3))
    at = open_app("associate", page="client", state={state.SELECTED_CLIENT: cid})
    click(at, f"sugg:{cid}:tryon_go")
    assert "Nothing of this visit is kept" in texts(at)
    held = at.session_state[state.TRYON]
    assert cid not in str(held) and held["pieces"] == []
    at.switch_page(str(state.DASHBOARD_DIR / state.page_path("tryon")))  # AppTest stays put
    run(at)

    bought = events.loc[events["client_id"] == cid, "product_id"].iloc[0]
    theirs = suggested(record(at, str(bought)))
    walk_in = suggested(record(open_app("associate", page="tryon"), str(bought)))
    assert theirs == walk_in  # the same visit gives the same list: no history read
    last = clients.set_index("client_id").loc[cid, "last_name"]
    assert str(last) not in texts(at)


def test_roles_without_the_shop_floor_do_not_get_it(open_app):
    at = open_app("manager", page="tryon")
    assert "not available for your role (manager)" in at.error[0].value
    at = open_app("admin", page="tryon")
    assert "not available for your role (admin)" in at.error[0].value


@pytest.mark.security
def test_tampered_session_state_breaks_nothing_and_names_no_client(open_app):
    forged = {
        "store_id": "<b>x</b>",
        "pieces": [["<script>", "hack"], "junk"],
        "client_id": "t_isa",
    }
    at = open_app("associate", page="tryon", state={state.TRYON: forged})
    assert pieces(at) == [] and len(suggested(at)) == 12
    assert "Quatremain" not in texts(at) and "<script>" not in texts(at)
