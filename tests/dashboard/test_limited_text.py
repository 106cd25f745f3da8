"""Limited text inputs: every field states its limit, nothing longer reaches the app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.widgets.limited_text import (
    LIMIT_PREFIX,
    PASTE_GUARD_JS,
    container_key,
    limit_label,
    limited_text,
)

pytestmark = pytest.mark.reliability

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def _fields() -> None:
    import streamlit as st

    from dashboard.widgets.limited_text import limited_text

    note = limited_text("Note", key="note", limit=20, kind="area", height=90)
    with st.form("f"):
        limited_text("Name", key="name", limit=5, placeholder="a name")
        st.form_submit_button("Save")
    left, _ = st.columns(2)
    limited_text("Search", key="q", limit=8, where=left)
    st.write(f"note has {len(note)} characters")


def test_label_states_the_limit_and_the_widget_holds_it() -> None:
    at = AppTest.from_function(_fields).run()
    assert not at.exception
    area = at.text_area(key="note")
    assert area.label == "Note · up to 20 characters" and area.max_chars == 20
    name = at.text_input(key="name")
    assert name.label == "Name · up to 5 characters" and name.max_chars == 5
    assert at.text_input(key="q").max_chars == 8


def test_nothing_longer_than_the_limit_reaches_the_app() -> None:
    # The browser drops an over-limit change whole (AppTest's input() does the same, which
    # is what the paste guard is for); a forged value is cut by the server, never kept whole.
    at = AppTest.from_function(_fields).run()
    at.text_area(key="note").input("x" * 10_000).run()
    assert at.session_state["note"] == ""
    at.text_area(key="note").set_value("x" * 10_000).run()
    assert not at.exception
    assert at.session_state["note"] == "x" * 20
    assert "note has 20 characters" in at.markdown[-1].value


def test_helper_refuses_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        limited_text("x", key="x", limit=0)
    with pytest.raises(ValueError, match="limit="):
        limited_text("x", key="x", limit=3, max_chars=3)


def test_container_key_carries_the_limit_and_is_css_safe() -> None:
    key = container_key("client:C 1:note:P/9", 2000)
    assert key.startswith(f"{LIMIT_PREFIX}2000-")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", key)
    assert container_key("a:b", 10) != container_key("a-b", 10)  # never the same container
    assert limit_label("Note", 2000) == "Note · up to 2,000 characters"


def test_paste_guard_reads_the_limit_from_the_container_key() -> None:
    assert f'"st-key-{LIMIT_PREFIX}"' in PASTE_GUARD_JS
    assert "__PREFIX__" not in PASTE_GUARD_JS
    assert 'addEventListener("paste"' in PASTE_GUARD_JS


def test_every_text_input_of_the_dashboard_goes_through_the_helper() -> None:
    direct = re.compile(r"\.(text_input|text_area)\(")
    offenders = [
        f"{path.relative_to(DASHBOARD)}:{n}"
        for path in DASHBOARD.rglob("*.py")
        if path.name != "limited_text.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if direct.search(line)
    ]
    assert offenders == [], "use dashboard.widgets.limited_text.limited_text: " + ", ".join(
        offenders
    )


def test_the_app_installs_the_paste_guard(open_app) -> None:
    at = open_app()
    bodies = [str(getattr(h, "proto", h)) for h in at.get("html")]
    assert any("__atelierPasteGuard" in body for body in bodies)
    user_id = at.text_input(key="auth:user_id")
    assert user_id.max_chars == 128 and "up to 128 characters" in user_id.label
