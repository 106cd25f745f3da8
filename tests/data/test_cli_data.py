"""The data commands of the command line: ``validate`` and ``import-retail``."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cli import main
from core.data.dataset import load_dataset
from core.data.generate import write_maison

SOURCE = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536366,71053,WHITE METAL LANTERN,2,12/1/2010 9:26,3.39,13047,France\n"
)


@pytest.fixture(scope="module")
def maison(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "data"
    write_maison(folder, n_clients=80, n_products=60, seed=5)
    return folder


@pytest.mark.reliability
def test_validate_refuses_a_second_email_column(
    maison: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(maison)]) == 0
    text = (maison / "clients.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    names = header.split(",")
    email, phone = names.index("email") + 1, names.index("phone") + 1
    bad = maison.parent / "bad"
    bad.mkdir()
    for path in maison.glob("*.csv"):
        (bad / path.name).write_bytes(path.read_bytes())
    (bad / "clients.csv").write_text(header.replace("phone", "email") + "\n" + rest, "utf-8")
    capsys.readouterr()
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "1 problem found; nothing was loaded" in err
    assert (
        f"clients.csv, column 'email'; expected one column 'email' (columns {email} and "
        f"{phone} of the header are both named 'email'"
    ) in err


@pytest.mark.security
@pytest.mark.parametrize("assume", [False, True], ids=["default", "assume-consent"])
def test_import_retail_says_which_consent_it_assumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], assume: bool
) -> None:
    source = tmp_path / "retail.csv"
    source.write_text(SOURCE, encoding="utf-8")
    out = tmp_path / "out"
    args = ["import-retail", str(source), "--out", str(out)]
    assert main(args + (["--assume-consent"] if assume else [])) == 0
    printed = capsys.readouterr().out
    clients = load_dataset(out).clients
    assert bool(clients["consent_personalization"].all()) is assume
    assert bool(clients["consent_personalization"].any()) is assume
    assert not clients["consent_contact"].any()
    if assume:
        assert "consent to personalisation: ASSUMED for all 2 clients (--assume-consent)" in printed
    else:
        assert "consent to personalisation: not assumed, none of the 2 clients has it" in printed
    assert "consent to contact: not assumed" in printed
