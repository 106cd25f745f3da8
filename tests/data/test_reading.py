"""Tests of :mod:`core.data.reading`: the one strict CSV reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.reading import header_problems, read_csv_strict
from core.exceptions import DataValidationError, Problem


def _write(tmp_path: Path, content: bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_cells_are_text_and_names_stripped(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeff a ,b\n007,\n".encode())
    df = read_csv_strict(path)
    assert list(df.columns) == ["a", "b"]
    assert df.loc[0, "a"] == "007"
    assert df["b"].isna().all()


def test_encodings_are_tried_in_turn(tmp_path: Path) -> None:
    path = _write(tmp_path, "name\nZoé\n".encode("latin-1"))
    with pytest.raises(DataValidationError, match=r"t\.csv, row 1; expected UTF-8 text"):
        read_csv_strict(path)
    assert read_csv_strict(path, encodings=("utf-8-sig", "latin-1")).loc[0, "name"] == "Zoé"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", r"t\.csv; expected a header row \(the file is empty\)"),
        (b"a,b\x00\x01", r"t\.csv; expected CSV text \(the file holds binary data\)"),
        (b"a,b\n1,2\n3,4,5\n", r"t\.csv, row 2: got '3 fields'; expected at most 2 fields"),
        (b'a,b\n"1,2\n', r"t\.csv: got .*; expected a readable CSV file"),
    ],
    ids=["empty", "binary", "ragged", "open-quote"],
)
def test_unreadable_file_is_named(tmp_path: Path, content: bytes, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        read_csv_strict(_write(tmp_path, content))


def test_missing_and_too_large(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"expected an existing CSV file at "):
        read_csv_strict(tmp_path / "absent.csv")
    path = _write(tmp_path, b"a\n" + b"1\n" * 1000)
    with pytest.raises(DataValidationError, match=r"t\.csv: got '[\d.e-]+ MB'; expected a file"):
        read_csv_strict(path, max_mb=0.001)


def test_header_check_comes_before_a_ragged_row(tmp_path: Path) -> None:
    def need_c(header: list[str]) -> None:
        if "c" not in header:
            raise DataValidationError([Problem("t.csv", None, "c", None, "a column named 'c'")])

    with pytest.raises(DataValidationError, match=r"column 'c'"):
        read_csv_strict(_write(tmp_path, b"a,b\n1,2,3\n"), check_header=need_c)
    with pytest.raises(DataValidationError, match=r"column 'c'"):
        read_csv_strict(_write(tmp_path, b"a,b\n1,2\n"), check_header=need_c)
    assert len(read_csv_strict(_write(tmp_path, b"a,c\n1,2\n"), check_header=need_c)) == 1


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            b"id,email,email\n1,a@b,0612\n",
            r"t\.csv, column 'email'; expected one column 'email' "
            r"\(columns 2 and 3 of the header are both named 'email'",
        ),
        (b"id,email, email ,email\n1,a,b,c\n", r"columns 2, 3 and 4 of the header are all named"),
        (b"id,,name\n1,2,3\n", r"t\.csv; expected a name for column 2 of the header"),
        (b"id,name,\n1,2,3\n", r"t\.csv; expected a name for column 3 of the header"),
        (b"id,\t,name\n1,2,3\n", r"t\.csv: got '\\t'; expected a name for column 2"),
        (b"id,email,email\n1,2,3,4\n", r"columns 2 and 3 of the header are both named"),
    ],
    ids=["repeat", "repeat-thrice-stripped", "empty", "trailing-comma", "blank", "and-ragged"],
)
def test_header_needs_one_name_per_column(tmp_path: Path, content: bytes, match: str) -> None:
    seen: list[list[str]] = []
    with pytest.raises(DataValidationError, match=match):
        read_csv_strict(_write(tmp_path, content), check_header=seen.append)
    assert seen == []  # refused before the caller's own header check


@pytest.mark.reliability
def test_header_problems_name_each_problem() -> None:
    problems = header_problems(["a", "", "b", "a", " ", "b"], "f.csv")
    assert [(p.column, p.value) for p in problems] == [(None, None), (None, " "), ("a", None),
                                                        ("b", None)]  # fmt: skip
    assert "columns 1 and 4" in problems[2].expected
    assert "columns 3 and 6" in problems[3].expected
    assert header_problems(["a", "b"], "f.csv") == []
    aliases = header_problems(["Invoice", "InvoiceNo"], "f.csv", same_column=lambda n: "InvoiceNo")
    assert aliases[0].column == "InvoiceNo"
    assert "columns 1 'Invoice' and 2 'InvoiceNo' of the header stand for the same" in (
        aliases[0].expected
    )
