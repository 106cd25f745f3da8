"""Hostile text in CSV exports (Trends, import problems) and the audit export: no formula runs.

Property: every text cell a spreadsheet would run as a formula -- one that
starts, after whitespace and invisible format characters, with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return (or their full-width forms) and is
not a plain number -- comes back prefixed with an apostrophe; every other
cell comes back exactly as it was. Nothing else is changed or dropped.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re

import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.data.export import to_safe_csv
from core.store import Store
from core.store.audit import audit_csv
from tests.security.hostile import FORMULAS, HOSTILE, examples

pytestmark = pytest.mark.security

TRIGGERS = "=+-@\t\r＝＋－＠"
SKIPPABLE = re.compile(
    r"^(?:[^\S\t\r]|[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff])*"
)
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
CELLS = st.one_of(
    HOSTILE, FORMULAS, st.tuples(st.sampled_from(" \n\u200b\ufeff\u00a0"), FORMULAS).map("".join)
)


def dangerous(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    rest = SKIPPABLE.sub("", text)
    if not rest or (rest[0] not in TRIGGERS and text[:1] not in TRIGGERS):
        return False
    return not NUMBER.fullmatch(rest.strip())


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the BOM
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def check_cell(written: str, original: str) -> None:
    if dangerous(original):
        assert written == "'" + original, (original, written)
    else:
        assert written == original, (original, written)


@examples(200)
@given(cells=st.lists(CELLS, min_size=1, max_size=5), header=CELLS)
def test_csv_exports_never_carry_a_live_formula(tried, cells, header):
    tried("CSV export cell", 2 * len(cells) + 1)
    assume(header not in ("n", "tags"))
    frame = pd.DataFrame(
        {
            header: cells,
            "n": range(len(cells)),
            "tags": [[c] for c in cells],  # a list cell is written as its text, checked too
        }
    )
    frame["cat"] = pd.Categorical(cells)
    head, *rows = read_back(to_safe_csv(frame))
    check_cell(head[0], header)
    for row, original in zip(rows, cells, strict=True):
        check_cell(row[0], original)
        assert row[1].isdigit()
        check_cell(row[2], str([original]))
        check_cell(row[3], original)


@pytest.fixture(scope="module")
def store():
    st_ = Store.open(url="sqlite://")
    yield st_
    st_.close()


_TARGETS = itertools.count()


@examples(150)
@given(actor=CELLS, target_type=CELLS, target_id=CELLS, note=HOSTILE)
def test_the_audit_export_never_carries_a_live_formula(
    tried, store, actor, target_type, target_id, note
):
    # Only what the audit log accepts (ids without surrounding spaces, bounded lengths).
    try:
        entry = store.audit.append(
            actor, "export", target_type[:32], f"{target_id[:100]}#{next(_TARGETS)}", {"note": note}
        )
    except ValueError:
        assume(False)
    tried("audit export field", 4)
    data = audit_csv(store.audit.frame(target_id=entry.target_id))
    head, *rows = read_back(data)
    assert head == ["id", "at", "actor_id", "action", "target_type", "target_id", "details"]
    (row,) = rows
    record = dict(zip(head, row, strict=True))
    check_cell(record["actor_id"], entry.actor_id)
    check_cell(record["target_type"], entry.target_type)
    check_cell(record["target_id"], entry.target_id)
    assert json.loads(record["details"]) == {"note": note}  # JSON text: starts with "{"
