"""The generated maison: contract, determinism, planted truth and streaming."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.generate import (
    DEFAULT_AS_OF,
    SEGMENTS,
    Maison,
    generate_maison,
    write_maison,
)
from core.data.schema import ONLINE_STORE_ID, TABLES, split_list

SMALL = {"n_clients": 600, "n_products": 300}
DEMAND = ["view", "zoom", "wishlist", "try_on", "purchase"]


@pytest.fixture(scope="module")
def small() -> Maison:
    return generate_maison(**SMALL, seed=11)


@pytest.fixture(scope="module")
def default() -> Maison:
    return generate_maison()


def _segment_of(m: Maison) -> pd.Series:
    return m.truth["product_segments"].set_index("product_id")["segment"]


def _same_segment_lift(m: Maison) -> float:
    """Share of same-segment pairs in clients' purchase/wishlist histories,
    over the share expected if products were picked independently of segment."""
    e = m.tables["events"]
    h = e[e.event_type.isin(["purchase", "wishlist"]) & ~e.is_gift]
    h = h[["client_id", "product_id"]].drop_duplicates()
    h = h.assign(segment=_segment_of(m).reindex(h.product_id).to_numpy())
    per_segment = h.groupby(["client_id", "segment"]).size()
    per_client = h.groupby("client_id").size()
    observed = (per_segment * (per_segment - 1) / 2).sum() / (
        per_client * (per_client - 1) / 2
    ).sum()
    expected = (h.segment.value_counts(normalize=True) ** 2).sum()
    return float(observed / expected)


def _segment_share(m: Maison, segment: str, recent: bool) -> float:
    e = m.tables["events"]
    d = e[e.event_type.isin(DEMAND)]
    is_recent = d.timestamp >= m.as_of - pd.Timedelta(days=42)
    d = d[is_recent if recent else ~is_recent]
    return float((_segment_of(m).reindex(d.product_id).to_numpy() == segment).mean())


# ------------------------------------------------------------ determinism
def test_same_seed_gives_identical_frames(small: Maison) -> None:
    again = generate_maison(**SMALL, seed=11)
    for name, frame in small.tables.items():
        pd.testing.assert_frame_equal(frame, again.tables[name], obj=name)
    for name, frame in small.truth.items():
        pd.testing.assert_frame_equal(frame, again.truth[name], obj=name)
    assert again.as_of == small.as_of == DEFAULT_AS_OF


def test_different_seed_gives_different_frames(small: Maison) -> None:
    other = generate_maison(**SMALL, seed=12)
    for name in ("products", "clients", "events", "stock"):
        assert not small.tables[name].equals(other.tables[name]), name


# --------------------------------------------------------------- contract
def _check_kind(s: pd.Series, kind: str) -> bool:
    if kind in ("str", "list"):
        return pd.api.types.is_string_dtype(s)
    if kind == "int":
        return pd.api.types.is_integer_dtype(s)
    if kind == "float":
        return pd.api.types.is_float_dtype(s)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(s)
    return pd.api.types.is_datetime64_dtype(s) and getattr(s.dt, "tz", None) is None


def test_every_column_of_the_contract_with_its_kind_and_values(small: Maison) -> None:
    assert list(small.tables) == list(TABLES)
    for name, spec in TABLES.items():
        df = small.tables[name]
        assert list(df.columns) == spec.column_names, name
        assert len(df) >= spec.min_rows
        for col in spec.columns:
            s = df[col.name]
            where = f"{name}.{col.name}"
            assert _check_kind(s, col.kind), f"{where}: {s.dtype} is not {col.kind}"
            if not col.nullable:
                assert s.notna().all(), f"{where} has nulls"
            if col.unique:
                assert s.is_unique, f"{where} has duplicates"
            if col.enum is not None:
                assert set(s.dropna()) <= set(col.enum), f"{where}: {set(s) - set(col.enum)}"
            if col.min is not None:
                assert (s.dropna() >= col.min).all(), where
            if col.max is not None:
                assert (s.dropna() <= col.max).all(), where
        if spec.key:
            assert not df.duplicated(list(spec.key)).any(), name


def test_foreign_keys_hold(small: Maison) -> None:
    t = small.tables
    for name, spec in TABLES.items():
        for fk in spec.foreign_keys:
            values = t[name][fk.column].dropna()
            assert values.isin(t[fk.table][fk.table_column]).all(), f"{name}.{fk.column}"
    assert set(small.truth["client_segments"].client_id) == set(t["clients"].client_id)
    assert list(small.truth["product_segments"].product_id) == list(t["products"].product_id)


def test_catalogue_is_believable(small: Maison) -> None:
    p = small.tables["products"]
    assert p.designer.nunique() >= 15
    assert {"bags", "shoes", "ready-to-wear", "jewellery", "watches", "fragrance"} <= set(
        p.category
    )
    assert (p.currency == "EUR").all()
    assert set(p.collection) >= {"SS25", "FW25", "SS26", "FW26"}
    assert 0.005 < p.sensitive.mean() < 0.08
    assert 0.01 < p.markdown.mean() < 0.1
    assert p.style_tags.map(lambda v: 1 <= len(split_list(v)) <= 3).all()
    assert p.description.str.endswith(".").all()
    assert (p.loc[p.category == "outerwear", "warmth"] != "").all()
    assert (p.loc[p.category.isin(["bags", "jewellery", "watches"]), "warmth"] == "").all()
    assert (p.loc[p.subcategory == "wool coat", "warmth"] == "heavy").all()
    jewellery = p[p.category == "jewellery"].price.median()
    assert jewellery > p[p.category == "fragrance"].price.median() * 10


def test_stores_stock_and_staff(small: Maison) -> None:
    t = small.tables
    stores, stock, staff = t["stores"], t["stock"], t["associates"]
    physical = stores[~stores.online]
    assert len(physical) >= 8 and set(stores.climate) == {"warm", "temperate", "cold"}
    online = stores[stores.online]
    assert list(online.store_id) == [ONLINE_STORE_ID]
    # a row per product and store, per size for sized products (size run declared)
    runs = t["products"].set_index("product_id")["sizes"].str.split("|").map(len)
    assert len(stock) == (runs * len(stores)).sum()
    sized = stock[stock["size"] != ""]
    assert set(sized.product_id) == set(t["products"].product_id[t["products"].sizes != ""])
    whole = stock.groupby(["product_id", "store_id"]).quantity.sum()
    some = whole[whole > 0].index
    by_size = sized.set_index(["product_id", "store_id"]).quantity
    in_store = by_size[by_size.index.isin(some) & (by_size.index.get_level_values(1) != "online")]
    assert (in_store == 0).mean() > 0.1  # some sizes out where the product is in stock
    online = by_size[by_size.index.get_level_values(1) == ONLINE_STORE_ID]
    assert (online > 0).mean() > (in_store > 0).mean()  # online is deeper
    assert (stock.quantity == 0).mean() > 0.05
    assert (stock.groupby("product_id").quantity.sum() == 0).any()
    per_store = staff[staff.role.isin(["associate", "stylist"])].groupby("store_id").role
    assert per_store.apply(lambda r: (r == "stylist").sum()).eq(1).all()
    assert per_store.apply(lambda r: (r == "associate").sum()).between(2, 4).all()
    assert set(per_store.groups) == set(physical.store_id)
    assert (staff.role == "manager").sum() >= 2 and (staff.role == "admin").sum() >= 1
    assert staff.user_id.str.fullmatch(r"u\d{4}").all()
    assert staff.email.is_unique
    other_size = generate_maison(20, 60, seed=11).tables["associates"]
    pd.testing.assert_frame_equal(staff, other_size)  # staff do not depend on the sizes


def test_clients_are_believable(small: Maison) -> None:
    c, staff = small.tables["clients"], small.tables["associates"]
    assert c.email.is_unique
    assert c.first_name.str.contains(r"[^\x00-\x7f]").mean() > 0.05  # Zoé, Søren, Aïsha...
    assert 0.03 < (c.tier == "vic").mean() < 0.1
    assert 0.8 < c.consent_personalization.mean() < 0.95
    assert 0.7 < c.consent_contact.mean() < 0.9
    home_of = staff.set_index("user_id").store_id
    assigned = c.dropna(subset=["assigned_associate_id"])
    assert (
        home_of.reindex(assigned.assigned_associate_id).to_numpy() == assigned.home_store_id
    ).all()
    assert c.assigned_associate_id.isna().any()
    has_band = c.price_min.notna()
    assert (c.price_min[has_band] < c.price_max[has_band]).all()
    dns = c.do_not_suggest.map(split_list)
    assert dns.map(len).between(1, 2).sum() >= 3
    assert set(dns.explode().dropna()) <= set(small.tables["products"].product_id)
    assert (c.created_at < small.as_of).all()
    assert (c.last_contacted_at.dropna() < small.as_of).all()


def test_declared_preferences_follow_true_taste(small: Maison) -> None:
    own: dict[str, set[str]] = {}  # designers of each client's true segments
    for row in small.truth["client_segments"].itertuples():
        own.setdefault(row.client_id, set()).update(SEGMENTS[row.segment].designers)
    declared = small.tables["clients"].query("pref_designers != ''")
    hits = [
        set(split_list(d)) <= own[cid]
        for cid, d in zip(declared.client_id, declared.pref_designers, strict=True)
    ]
    assert len(hits) > 300 and np.mean(hits) > 0.95


# ------------------------------------------------------------------ events
def test_funnel_order_and_vic_buy_more(small: Maison) -> None:
    e, c = small.tables["events"], small.tables["clients"]
    n = e.event_type.value_counts()
    assert n["view"] > n["wishlist"] > n["purchase"] > n["return"]
    assert n["email_open"] > n["email_click"]
    bought = e[e.event_type == "purchase"].groupby("client_id").size()
    per_client = bought.reindex(c.client_id, fill_value=0).groupby(c.tier.to_numpy()).mean()
    assert per_client["vic"] > 2 * per_client.drop("vic").max()
    views = e[e.event_type == "view"].groupby("client_id").size()
    views = views.reindex(c.client_id, fill_value=0).groupby(c.tier.to_numpy()).mean()
    assert views["vic"] > views.drop("vic").max()


def test_cold_clients_have_preferences_but_no_events(small: Maison) -> None:
    c, e = small.tables["clients"], small.tables["events"]
    cold = c[~c.client_id.isin(e.client_id)]
    assert 0.02 < len(cold) / len(c) < 0.08
    for col in ("pref_designers", "pref_categories", "pref_colors", "pref_materials"):
        assert (cold[col] != "").all(), col


def test_cold_products_are_new_with_few_events(small: Maison) -> None:
    p, e = small.tables["products"], small.tables["events"]
    new = p.launch_date > small.as_of - pd.Timedelta(days=30)
    assert 0.03 <= new.mean() <= 0.05
    assert (p.launch_date[new] < small.as_of).all()
    counts = e.groupby("product_id").size().reindex(p.product_id, fill_value=0).to_numpy()
    assert counts[new.to_numpy()].mean() < 0.1 * counts[~new.to_numpy()].mean()


def test_timestamps_within_history_and_after_launch(small: Maison) -> None:
    e, p = small.tables["events"], small.tables["products"]
    assert (e.timestamp < small.as_of).all()
    assert (e.timestamp >= small.as_of - pd.Timedelta(days=731)).all()
    launch = p.set_index("product_id").launch_date.reindex(e.product_id).to_numpy()
    assert (e.timestamp.to_numpy() >= launch).all()
    created = small.tables["clients"].set_index("client_id").created_at
    assert (e.timestamp.to_numpy() >= created.reindex(e.client_id).to_numpy()).all()
    half = small.as_of - pd.Timedelta(days=365)
    assert (e.timestamp >= half).mean() > 0.55  # more recent activity


def test_returns_follow_a_purchase_of_the_same_item(small: Maison) -> None:
    e = small.tables["events"]
    buys = e[e.event_type == "purchase"]
    returns = e[e.event_type == "return"]
    assert 0.04 < len(returns) / len(buys) < 0.09
    first_buy = buys.groupby(["client_id", "product_id"]).timestamp.min().rename("bought")
    joined = returns.join(first_buy, on=["client_id", "product_id"])
    assert joined.bought.notna().all()
    assert (joined.timestamp > joined.bought).all()
    assert (returns.value > 0).all()


def test_purchases_are_usually_viewed_first(small: Maison) -> None:
    e = small.tables["events"]
    buys = e[(e.event_type == "purchase") & ~e.is_gift]
    views = e[e.event_type == "view"].groupby(["client_id", "product_id"]).timestamp.min()
    seen = buys.join(views.rename("viewed"), on=["client_id", "product_id"])
    assert (seen.viewed <= seen.timestamp).mean() > 0.75


def test_gifts_come_from_outside_the_clients_taste(small: Maison) -> None:
    e = small.tables["events"]
    buys = e[e.event_type == "purchase"]
    assert 0.04 < buys.is_gift.mean() < 0.13
    assert not e.loc[~e.event_type.isin(["purchase", "return"]), "is_gift"].any()
    gifts = buys[buys.is_gift]
    seg = _segment_of(small).reindex(gifts.product_id).to_numpy()
    truth = small.truth["client_segments"]
    pairs = set(zip(truth.client_id, truth.segment, strict=True))
    assert not any((c, s) in pairs for c, s in zip(gifts.client_id, seg, strict=True))


def test_channels_stores_quantities_and_values(small: Maison) -> None:
    e, p, stores = small.tables["events"], small.tables["products"], small.tables["stores"]
    email = e.channel == "email"
    assert e.event_type[email].isin(["email_open", "email_click"]).all()
    assert e.store_id[email].isna().all()
    remote = e.channel.isin(["online", "app"])
    assert (e.store_id[remote] == ONLINE_STORE_ID).all()
    physical = set(stores.store_id[~stores.online])
    assert e.store_id[e.channel == "store"].isin(physical).all()
    assert (e.channel[e.event_type == "try_on"] == "store").all()
    assert (e.quantity == 1).mean() > 0.95
    money = e.event_type.isin(["purchase", "return"])
    price = p.set_index("product_id").price.reindex(e.product_id[money]).to_numpy()
    np.testing.assert_allclose(e.value[money], price * e.quantity[money])
    assert (e.value[~money] == 0).all()
    no_contact = small.tables["clients"].query("~consent_contact").client_id
    assert not e[email].client_id.isin(no_contact).any()


# ---------------------------------------------------------- planted truth
def test_planted_segments_co_occur_far_above_chance(small: Maison) -> None:
    # Measured: about 4 at these sizes (4.3 at the default size).
    assert _same_segment_lift(small) > 2.0


def test_rising_segment_gains_share_in_the_last_six_weeks(small: Maison) -> None:
    rising = generate_maison(**SMALL, seed=11, rising_segment="sporty_luxe")
    recent = _segment_share(rising, "sporty_luxe", recent=True)
    before = _segment_share(rising, "sporty_luxe", recent=False)
    # Measured: about 2.5x with the option, 0.9x without it.
    assert recent > 1.6 * before
    assert _segment_share(small, "sporty_luxe", True) < 1.3 * _segment_share(
        small, "sporty_luxe", False
    )
    assert rising.truth["segments"].set_index("segment").rising["sporty_luxe"]


def test_at_least_six_segments_with_distinct_palettes() -> None:
    assert len(SEGMENTS) >= 6
    designers = [d for s in SEGMENTS.values() for d in s.designers]
    assert len(designers) == len(set(designers))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clients": 5}, "n_clients"),
        ({"n_products": 10}, "n_products"),
        ({"n_clients": 100.5}, "n_clients"),
        ({"seed": -1}, "seed"),
        ({"events_per_client": 0.0}, "events_per_client"),
        ({"rising_segment": "grunge"}, "rising_segment"),
        ({"as_of": "not a date"}, "as_of"),
        ({"as_of": pd.Timestamp("2026-11-01", tz="UTC")}, "as_of"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        generate_maison(**kwargs)


def test_write_rejects_bad_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        write_maison(tmp_path, 20, 50, fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_events"):
        write_maison(tmp_path, 20, 50, n_events=0)
    assert not any(tmp_path.iterdir())


def test_failed_write_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    write_maison(tmp_path, 200, 60, seed=1)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def fail(stage: str, fraction: float) -> None:
        if stage == "clients" and fraction > 0:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_maison(tmp_path, 300, 60, seed=2, chunk_clients=100, progress=fail)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


# ---------------------------------------------------------------- writing
def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{name}.parquet")


def test_chunked_writing_gives_the_same_tables(tmp_path: Path, small: Maison) -> None:
    one, many = tmp_path / "one", tmp_path / "many"
    counts = write_maison(one, **SMALL, seed=11, fmt="parquet")
    write_maison(many, **SMALL, seed=11, fmt="parquet", chunk_clients=100)
    for name in TABLES:
        a, b = _read(one, name), _read(many, name)
        pd.testing.assert_frame_equal(a, b, obj=name)
        pd.testing.assert_frame_equal(a, small.tables[name], obj=name)
        assert counts[name] == len(a)
    for name in ("client_segments", "product_segments"):
        pd.testing.assert_frame_equal(_read(one / "truth", name), small.truth[name])


def test_csv_round_trip_and_truth_folder(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    counts = write_maison(
        tmp_path, 300, 100, seed=3, chunk_clients=100, progress=lambda s, f: seen.append((s, f))
    )
    for name in TABLES:
        assert len(pd.read_csv(tmp_path / f"{name}.csv")) == counts[name], name
    truth = tmp_path / "truth"
    assert len(pd.read_csv(truth / "client_segments.csv")) == counts["client_segments"]
    assert len(pd.read_csv(truth / "product_segments.csv")) == counts["product_segments"] == 100
    segments = json.loads((truth / "segments.json").read_text(encoding="utf-8"))
    assert set(segments["segments"]) == set(SEGMENTS)
    assert not list(tmp_path.rglob("*.partial"))
    assert seen[-1] == ("done", 1.0)
    assert [f for s, f in seen if s == "clients"] == sorted(f for s, f in seen if s == "clients")
    # Rewriting as parquet replaces the CSV version rather than leaving two.
    write_maison(tmp_path, 300, 100, seed=3, fmt="parquet")
    assert not list(tmp_path.glob("*.csv")) and len(list(tmp_path.glob("*.parquet"))) == 7


@pytest.mark.skipif(
    importlib.util.find_spec("core.data.dataset") is None, reason="core.data.dataset not available"
)
def test_default_maison_is_fast_and_loads(tmp_path: Path, default: Maison) -> None:
    from core.data.dataset import load_dataset

    t0 = time.perf_counter()
    counts = write_maison(tmp_path)
    assert time.perf_counter() - t0 < 15
    assert counts["clients"] == 5000 and counts["products"] == 1200
    assert 120_000 < counts["events"] < 180_000
    for name in TABLES:
        assert counts[name] == len(default.tables[name])
    ds = load_dataset(tmp_path)
    assert len(ds.tables["events"]) == counts["events"]
    assert _same_segment_lift(default) > 2.0
