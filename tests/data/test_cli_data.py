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


# ------------------------------------------------------------------ tuning
def _retail_csv(path: Path, n_customers: int = 60, n_codes: int = 30, seed: int = 0) -> Path:
    """An Online Retail layout over 200 days: each customer buys from a taste group of codes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    start = np.datetime64("2011-01-03T09:00")
    lines = [SOURCE.splitlines()[0]]
    invoice = 540000
    for c in range(n_customers):
        group = (c % 3) * (n_codes // 3)
        for _ in range(int(rng.integers(5, 10))):
            invoice += 1
            when = (start + np.timedelta64(int(rng.integers(0, 200 * 24 * 60)), "m")).item()
            stamp = f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}"
            for code in rng.choice(n_codes // 3, size=int(rng.integers(1, 4)), replace=False):
                code = group + int(code)
                lines.append(
                    f"{invoice},{20000 + code},ITEM {code} OF GROUP {code // 10},"
                    f"{int(rng.integers(1, 5))},{stamp},{1.5 + code % 7},{12000 + c},France"
                )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tune_writes_the_best_configuration_and_the_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.engine.config import EngineConfig
    from core.engine.tune import read_tune_result

    source = _retail_csv(tmp_path / "retail.csv")
    out = tmp_path / "data"
    assert main(["import-retail", str(source), "--out", str(out), "--assume-consent"]) == 0
    capsys.readouterr()
    assert main(["--data", str(out), "tune", "--budget", "2m", "--trials", "3"]) == 0
    printed = capsys.readouterr().out
    result = read_tune_result(out / "tune_trials.json")
    assert result is not None and len(result.trials) == 3
    assert set(result.trials["state"]) <= {"complete", "pruned"}
    assert EngineConfig.from_toml(out / "engine.toml") == result.best_config
    assert "3 trials in" in printed and "Recall@20 on validation: start" in printed


@pytest.mark.parametrize("bad", ["ten minutes", "0s", "5d"])
def test_tune_refuses_a_bad_budget(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "--budget", bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--budget" in err and "a duration must be a positive number with s, m or h" in err


def test_import_with_tune_tunes_then_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.engine.config import EngineConfig
    from core.engine.models.persistence import read_model_info
    from core.engine.tune import read_tune_result

    source = _retail_csv(tmp_path / "retail.csv", seed=1)
    out = tmp_path / "data"
    args = ["import-retail", str(source), "--out", str(out), "--tune", "90s", "--tune-trials", "2"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    result = read_tune_result(out / "tune_trials.json")
    assert result is not None and len(result.trials) == 2
    tuned = EngineConfig.from_toml(out / "engine.toml")
    assert tuned == result.best_config
    # the model saved for the folder was fitted with the tuned configuration, on the imported data
    info = read_model_info(out / "model")
    assert EngineConfig.from_dict(info["config"]) == tuned
    assert info["fingerprint"] == load_dataset(out).fingerprint
    assert "best configuration written to" in printed and "fitted in" in printed


def test_tune_says_why_it_cannot_run(maison: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(maison), "tune", "--objective", "AUC"]) == 2
    assert "error: tune: objective must look like 'Recall@20'" in capsys.readouterr().err
    assert not (maison / "engine.toml").exists()


def test_both_imports_take_a_tuning_budget() -> None:
    from core.cli import build_parser

    parser = build_parser()
    journey = parser.parse_args(["import-journey", "t.csv", "p.csv", "--out", "o", "--tune", "5m"])
    retail = parser.parse_args(["import-retail", "r.csv", "--out", "o", "--tune", "1h"])
    assert (journey.tune, retail.tune) == (300.0, 3600.0)
    assert parser.parse_args(["import-retail", "r.csv", "--out", "o"]).tune is None
