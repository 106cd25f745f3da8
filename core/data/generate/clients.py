"""The clients stage: who each client is, their true taste, declared preferences and contact details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.data.generate.behaviour import TIER_P
from core.data.generate.catalogue import Catalogue
from core.data.generate.draws import BlockRandom, cumulative, pick_index, pool_pick
from core.data.generate.geography import EMAIL_DOMAINS, FIRST_NAMES, FOLDED, LAST_NAMES
from core.data.generate.parameters import COLD_CLIENT_SHARE, DAY, WINDOW_DAYS
from core.data.generate.segments import SEGMENT_NAMES, SEGMENTS
from core.data.generate.tables import arrow_table, as_datetimes, epoch_seconds
from core.data.generate.text import join_labels
from core.data.generate.vocabulary import SIZES_RING, SIZES_RTW, SIZES_SHOES
from core.data.schema import TIERS


@dataclass(frozen=True)
class ClientState:
    """What the events of a chunk need to know about its clients."""

    ids: np.ndarray
    home: np.ndarray
    tier: np.ndarray
    mix: np.ndarray  # (clients, S) true segment weights, rows sum to 1
    cold: np.ndarray
    consent_contact: np.ndarray
    start_day: np.ndarray  # first day (after the window start) they can have events


def declared_preferences(
    br: BlockRandom, weights: np.ndarray, labels: np.ndarray, m_max: int, present: np.ndarray
) -> np.ndarray:
    """Declared preferences: 1..m_max labels per client, drawn without replacement
    in proportion to ``weights`` (Gumbel top-k), ``""`` where not ``present``."""
    u = br.random(cols=len(labels))
    m = 1 + (br.random() * m_max).astype(int)
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(np.maximum(u, 1e-300)))
    picks = np.argsort(-keys, axis=1)[:, :m_max]
    m = np.where(present, np.minimum(m, (weights > 0).sum(axis=1)), 0)
    return join_labels(labels, picks, m)


def draw_clients(
    br: BlockRandom, cat: Catalogue, first: int, n_clients: int, as_of: pd.Timestamp
) -> tuple[pa.Table, pa.Table, ClientState]:
    """The clients of a chunk (``first`` is the global index of its first client),
    their true segments, and what their events need.

    The parts are drawn in a fixed order (identity, contact, joining date,
    preferences, sizes, dates), each from ``br``, so a seed gives the same
    clients whatever the chunking.
    """
    gidx = first + np.arange(int(br.sizes.sum()))
    who = _identity(br, cat)
    contact, staff = _contact(br, cat, who, gidx)
    joined_ago, created = _joined(br, who.cold, as_of)
    preferences = _preferences(br, cat, who)
    sizes = _sizes(br)
    dates = _dates(br, cat, who, contact["consent_contact"], joined_ago, as_of)
    width = max(5, len(str(n_clients)))
    ids = np.array([f"c{i + 1:0{width}d}" for i in gidx], dtype=object)
    clients = arrow_table(
        "clients",
        {
            "client_id": ids,
            "home_store_id": cat.store_ids.take(pa.array(who.home)),
            "tier": np.array(TIERS, dtype=object)[who.tier],
            "assigned_associate_id": cat.staff_ids.take(pa.array(staff, mask=staff < 0)),
            **contact,
            **preferences,
            **sizes,
            **dates,
            "created_at": as_datetimes(created),
        },
    )
    ci, si = np.nonzero(who.mix)
    truth = arrow_table(
        "client_segments",
        {
            "client_id": ids[ci],
            "segment": np.array(SEGMENT_NAMES, dtype=object)[si],
            "weight": who.mix[ci, si],
        },
    )
    start_day = np.maximum(WINDOW_DAYS - joined_ago + 1, 0)
    state = ClientState(
        ids, who.home, who.tier, who.mix, who.cold, contact["consent_contact"], start_day
    )
    return clients, truth, state


@dataclass(frozen=True)
class _Identity:
    """Who the clients of a chunk are: home store, tier and true taste."""

    home: np.ndarray
    cold: np.ndarray
    tier: np.ndarray
    vic: np.ndarray
    primary: np.ndarray  # the main segment
    mix: np.ndarray  # (clients, S) true segment weights, rows sum to 1


def _identity(br: BlockRandom, cat: Catalogue) -> _Identity:
    """Home store, tier, true taste (one or two segments)."""
    r = br.random
    nc, n_seg = int(br.sizes.sum()), len(SEGMENTS)
    shares = np.array([s.share for s in SEGMENTS.values()])
    home = pick_index(cumulative(cat.store_share), r())
    cold = r() < COLD_CLIENT_SHARE
    tier = np.where(cold, (r() >= 0.75).astype(int), pick_index(cumulative(TIER_P), r()))
    vic = tier == TIERS.index("vic")
    primary = pick_index(cat.store_segments[home], r())
    second_p = np.tile(shares, (n_seg, 1))
    np.fill_diagonal(second_p, 0.0)
    second = pick_index(cumulative(second_p)[primary], r())
    w1 = np.where(r() < 0.45, 0.55 + 0.3 * r(), 1.0)
    mix = np.zeros((nc, n_seg))
    mix[np.arange(nc), primary] = w1
    mix[np.arange(nc), second] += 1.0 - w1
    return _Identity(home, cold, tier, vic, primary, mix)


def _contact(
    br: BlockRandom, cat: Catalogue, who: _Identity, gidx: np.ndarray
) -> tuple[dict[str, Any], np.ndarray]:
    """Names, contact details and consent (table columns), and the assigned staff row (-1: none)."""
    r = br.random
    home, vic = who.home, who.vic
    region = pick_index(cat.store_regions[home], r())
    first_name = pool_pick(FIRST_NAMES, region, r())
    last_name = pool_pick(LAST_NAMES, region, r())
    domain = EMAIL_DOMAINS[(r() * len(EMAIL_DOMAINS)).astype(int)]
    email = [
        f"{FOLDED[f]}.{FOLDED[la]}.{i + 1}@{d}"
        for f, la, i, d in zip(first_name, last_name, gidx, domain, strict=True)
    ]
    travelled = cat.physical[(r() * len(cat.physical)).astype(int)]
    phone_store = np.where(home == cat.online, travelled, home)
    digits = (r(cols=3) * np.array([1e3, 1e3, 1e4])).astype(int)
    phone = [
        "" if skip else f"{cat.store_phone[s]} {a:03d} {b:03d} {c:04d}"
        for s, (a, b, c), skip in zip(phone_store, digits, r() < 0.08, strict=True)
    ]
    consent_p = r() < 0.88
    consent_c = r() < np.where(consent_p, 0.84, 0.5)
    n_staff = cat.staff_start[home + 1] - cat.staff_start[home]
    slot = np.minimum(cat.staff_start[home] + (r() * n_staff).astype(int), len(cat.staff_pool) - 1)
    staff = np.where(vic & (r() < 0.6), cat.stylist[home], cat.staff_pool[slot])
    staff = np.where((home == cat.online) | (~vic & (r() < 0.15)), -1, staff)
    columns = {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "phone": phone,
        "consent_personalization": consent_p,
        "consent_contact": consent_c,
    }
    return columns, staff


def _joined(
    br: BlockRandom, cold: np.ndarray, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Days since each client joined, and when (epoch seconds): cold clients lately;
    others mostly before the window."""
    r, days = br.random, WINDOW_DAYS
    u_join = r(cols=2)
    joined_ago = np.select(
        [cold, u_join[:, 0] < 0.65],
        [1 + (u_join[:, 1] * 150).astype(int), days + 1 + (u_join[:, 1] * 6 * 365).astype(int)],
        14 + (u_join[:, 1] * (days - 14)).astype(int),
    )
    created = epoch_seconds(as_of) - joined_ago * DAY + ((9 + 10 * r()) * 3600).astype(int)
    return joined_ago, created


def _preferences(br: BlockRandom, cat: Catalogue, who: _Identity) -> dict[str, np.ndarray]:
    """Declared preferences and price band, consistent with the true taste (always, for cold clients)."""
    r, cold = br.random, who.cold
    has_prefs = cold | (r() < 0.75)
    declared = {}
    for field, m_max in (("designers", 2), ("categories", 3), ("colors", 3), ("materials", 2)):
        present = has_prefs & (cold | (r() < 0.85))
        weights = who.mix @ cat.pref_matrix[field]
        declared[f"pref_{field}"] = declared_preferences(
            br, weights, cat.pref_labels[field], m_max, present
        )
    band = cat.price_band[who.primary] * np.exp(0.2 * br.normal())[:, None]
    has_band = cold | (has_prefs & (r() < 0.7))
    price_min = np.where(has_band, np.maximum(np.round(band[:, 0] / 50) * 50, 50.0), np.nan)
    price_max = np.where(has_band, np.round(band[:, 1] / 100) * 100 + 100, np.nan)
    return {**declared, "price_min": price_min, "price_max": price_max}


def _sizes(br: BlockRandom) -> dict[str, np.ndarray]:
    """Ready-to-wear, shoe and ring sizes; each unknown ("") for one client in five."""
    r = br.random

    def size(labels: tuple[str, ...], p: np.ndarray | None = None) -> np.ndarray:
        pick = pick_index(cumulative(p if p is not None else np.ones(len(labels))), r())
        return np.where(r() < 0.8, np.array(labels, dtype=object)[pick], "")

    return {
        "size_rtw": size(SIZES_RTW[0], np.array(SIZES_RTW[1])),
        "size_shoes": size(SIZES_SHOES),
        "size_ring": size(SIZES_RING),
    }


def _dates(
    br: BlockRandom,
    cat: Catalogue,
    who: _Identity,
    consent_c: np.ndarray,
    joined_ago: np.ndarray,
    as_of: pd.Timestamp,
) -> dict[str, np.ndarray]:
    """Birthday, anniversary, do-not-suggest list, sustainable-only flag and last contact."""
    r, vic, primary = br.random, who.vic, who.primary
    today = as_of.to_datetime64().astype("datetime64[D]")
    age_days = (np.clip(44 + 12 * br.normal(), 19, 85) * 365.25).astype(int)
    birthday = np.where(r() < 0.85, today - age_days, np.datetime64("NaT"))
    married_ago = 30 + (r() * np.maximum(age_days - 22 * 365, 0)).astype(int)
    married = (r() < np.where(vic, 0.5, 0.25)) & (age_days > 23 * 365)
    anniversary = np.where(married, today - married_ago, np.datetime64("NaT"))
    in_segment = np.diff(cat.seg_start)[primary][:, None]
    dns_pick = cat.seg_order[cat.seg_start[primary][:, None] + (r(cols=2) * in_segment).astype(int)]
    dns_n = np.where(r() < 0.02, 1 + (r() < 0.4), 0)
    dns_n = np.where((dns_n == 2) & (dns_pick[:, 0] == dns_pick[:, 1]), 1, dns_n)
    sustainable_only = r() < np.where(primary == SEGMENT_NAMES.index("minimalist_eco"), 0.15, 0.02)
    contacted_ago = 1 + (-45 * np.log1p(-r())).astype(int)
    contacted = (
        consent_c & ~who.cold & (r() < np.where(vic, 0.9, 0.45)) & (contacted_ago < joined_ago)
    )
    contact_s = epoch_seconds(as_of) - contacted_ago * DAY + ((10 + 9 * r()) * 3600).astype(int)
    return {
        "birthday": birthday.astype("datetime64[us]"),
        "anniversary": anniversary.astype("datetime64[us]"),
        "do_not_suggest": join_labels(cat.product_id_labels, dns_pick, dns_n),
        "sustainable_only": sustainable_only,
        "last_contacted_at": np.where(
            contacted, as_datetimes(contact_s), np.datetime64("NaT", "us")
        ),
    }
