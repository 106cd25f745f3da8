"""core.app.search: typos, accents, phone and email forms, ordering and filters, exactly."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from core.app.search import RESULT_COLUMNS, ClientIndex, digits, normalise, search_clients


@pytest.fixture
def clients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["C001", "C002", "C003", "C004", "C005", "C006"],
            "first_name": ["Isabelle", "Zoé", "François", "Isabel", "Søren", "Anne-Sophie"],
            "last_name": ["Dupont", "Martin", "Lefèvre", "Moreau", "Kierkegaard", "de la Tour"],
            "email": [
                "isabelle.dupont@example.com",
                "zoe.m@example.com",
                "",
                None,
                "s@k.dk",
                "annesophie@tour.fr",
            ],  # fmt: skip
            "phone": ["+33 6 12 34 56 78", "", "+33 1 40 00 00 00", None, "", "(212) 555-0199"],
            "home_store_id": ["par", "par", "lyo", "par", "cph", "nyc"],
            "tier": ["vic", "client", "loyal", "client", "vic", "prospect"],
            "assigned_associate_id": ["a1", "a2", None, "a1", "a3", "a2"],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_id": ["C001", "C002", "C002", "C005"],
            "timestamp": pd.to_datetime(["2026-01-01", "2025-01-01", "2026-03-01", "2024-06-01"]),
        }
    )


def ids(df: pd.DataFrame) -> list[str]:
    return list(df["client_id"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zoé-Marie", "zoe marie"),
        ("  FRANÇOIS  ", "francois"),
        ("Søren Ærø", "soren aero"),
        ("Łukasz Straße", "lukasz strasse"),
        ("O'Brien", "o brien"),
        ("مريم العلي", "مريم العلي"),
        ("Ōtsuka 🌸", "otsuka"),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_digits():
    assert digits("+33 (0)6 12-34") == "330612" + "34"
    assert digits(None) == ""


@pytest.mark.parametrize(
    ("query", "expected_first", "matched_on"),
    [
        ("Isabele", "C001", "name"),  # typo: Isabelle (93) ahead of Isabel (92)
        ("Zoe", "C002", "name"),  # accent missing
        ("francois", "C003", "name"),  # ç
        ("lefevre francois", "C003", "name"),  # word order
        ("soren", "C005", "name"),  # ø
        ("anne sophie de la tour", "C006", "name"),  # hyphen and particles
        ("06 12 34 56 78", "C001", "phone"),  # national form of +33 6...
        ("+33612345678", "C001", "phone"),
        ("555 0199", "C006", "phone"),  # punctuation ignored, suffix
        ("isabelle.dupont@example.com", "C001", "email"),
        ("ZOE.M@EXAMPLE", "C002", "email"),  # fragment, any case
        ("c005", "C005", "id"),
    ],
)
def test_finds_expected_client_first(clients, query, expected_first, matched_on):
    result = search_clients(clients, query)
    assert result.iloc[0]["client_id"] == expected_first
    assert result.iloc[0]["matched_on"] == matched_on


def test_typo_scores_exact(clients):
    result = search_clients(clients, "Isabele")
    assert ids(result) == ["C001", "C004"]
    assert list(result["score"]) == [93.3, 92.3]


def test_prefix_matches_while_typing(clients):
    result = search_clients(clients, "isa")
    assert ids(result) == ["C001", "C004"]  # equal score: by last name (Dupont, Moreau)
    assert list(result["score"]) == [95.0, 95.0]


def test_no_match_is_empty_with_columns(clients):
    result = search_clients(clients, "xyzzy")
    assert result.empty
    assert list(result.columns) == list(RESULT_COLUMNS)


def test_non_latin_names_and_punctuation_only(clients):
    frame = pd.concat(
        [
            clients,
            pd.DataFrame({"client_id": ["C007"], "first_name": ["مريم"], "last_name": ["العلي"]}),
        ],  # fmt: skip
        ignore_index=True,
    )
    assert ids(search_clients(frame, "مريم")) == ["C007"]
    assert search_clients(frame, "!!!").empty
    assert search_clients(frame, "   ").shape[0] == 7  # blank: everyone (the "your clients" list)


def test_stray_initials_do_not_match(clients):
    assert search_clients(clients, "b zzqqx x").empty


def test_own_clients_then_own_store_first(clients):
    result = search_clients(clients, "isa", prefer_associate="a2", prefer_store="lyo")
    assert ids(result) == ["C001", "C004"]  # neither is a2's or in lyo: by last name
    result = search_clients(clients, "isa", prefer_associate="a3", prefer_store="par")
    assert ids(result) == ["C001", "C004"]
    result = search_clients(clients, "", prefer_associate="a2", prefer_store="par")
    # a2's clients first (the one in par before the one in nyc), then the rest of par,
    # then the others by last name.
    assert ids(result) == ["C002", "C006", "C001", "C004", "C005", "C003"]
    assert list(result["is_own"]) == [True, True, False, False, False, False]
    assert list(result["is_own_store"]) == [True, False, True, True, False, False]


def test_match_quality_beats_ownership(clients):
    result = search_clients(clients, "Isabele", prefer_associate="a2")
    assert ids(result) == ["C001", "C004"]


def test_filters(clients, events):
    assert ids(search_clients(clients, "", store_id="par")) == ["C001", "C002", "C004"]
    assert ids(search_clients(clients, "", tier=["vic"])) == ["C001", "C005"]
    assert ids(search_clients(clients, "", assigned_to="a1")) == ["C001", "C004"]
    recent = search_clients(clients, "", events=events, recently_active_since="2025-12-01")
    assert ids(recent) == ["C001", "C002"]
    assert recent.set_index("client_id").loc["C002", "last_activity"] == pd.Timestamp("2026-03-01")
    assert ids(search_clients(clients, "isa", store_id="par", tier="vic")) == ["C001"]


def test_recently_active_needs_events(clients):
    with pytest.raises(ValueError, match="needs the events"):
        search_clients(clients, "", recently_active_since="2025-01-01")


def test_limit(clients):
    assert len(search_clients(clients, "", limit=2)) == 2
    assert len(ClientIndex(clients).search("", limit=None)) == 6
    with pytest.raises(ValueError, match="limit must be"):
        search_clients(clients, "", limit=-1)


def test_missing_columns_raise():
    with pytest.raises(ValueError, match="first_name, last_name"):
        ClientIndex(pd.DataFrame({"client_id": ["a"]}))


def test_empty_table():
    empty = pd.DataFrame(columns=["client_id", "first_name", "last_name"])
    assert search_clients(empty, "anything").empty
    assert search_clients(empty, "").empty


def test_fast_on_many_clients():
    rng = np.random.default_rng(0)
    firsts = np.array(["Isabelle", "Zoé", "François", "Marie", "Jean", "Hina", "Wing", "Aïsha"])
    lasts = np.array([f"Name{i}" for i in range(2000)])
    n = 20_000
    frame = pd.DataFrame(
        {
            "client_id": [f"c{i:06d}" for i in range(n)],
            "first_name": rng.choice(firsts, n),
            "last_name": rng.choice(lasts, n),
            "email": [f"user{i}@example.com" for i in range(n)],
            "phone": [f"+33 6 {i:08d}" for i in range(n)],
        }
    )
    index = ClientIndex(frame)
    start = time.perf_counter()
    for query in ("Isabele Name12", "zoe", "06 00 00 12 34", "user77@example.com"):
        assert not index.search(query).empty
    assert (time.perf_counter() - start) / 4 < 0.5
