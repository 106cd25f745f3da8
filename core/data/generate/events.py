"""The events stage: a luxury funnel whose products follow each client's taste."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.data.generate.behaviour import (
    CALIBRATION,
    CHANNEL,
    CHANNEL_P,
    EMAIL_NOISE,
    EVENT,
    FUNNEL,
    GIFT_RATE,
    NEXT_STEP_DAYS,
    NEXT_STEP_RATE,
    NOISE,
    RETURN_RATE,
    RISING_PEAK,
    TIER_ACTIVITY,
    TIER_P,
    TRY_BEFORE_STORE_PURCHASE,
    VIEW_BEFORE_PURCHASE,
)
from core.data.generate.catalogue import Catalogue, choose
from core.data.generate.clients import ClientState
from core.data.generate.draws import BlockRandom, cumulative, pick_index
from core.data.generate.parameters import (
    BUCKET_DAYS,
    COLD_CLIENT_SHARE,
    DAY,
    RISING_DAYS,
    WINDOW_DAYS,
)
from core.data.generate.returns import return_reasons
from core.data.generate.segments import SEGMENTS
from core.data.generate.tables import arrow_table, as_datetimes, epoch_seconds
from core.data.schema import CHANNELS, EVENT_TYPES

Columns = tuple[Any, ...]
"""The nine event columns (client row, product row, type, epoch seconds, channel,
store row, quantity, value, gift) as arrays or scalars to broadcast."""

_NEWSLETTER = [EVENT["email_open"], EVENT["email_click"]]


def draw_events(
    br: BlockRandom,
    cat: Catalogue,
    cl: ClientState,
    as_of: pd.Timestamp,
    events_per_client: float,
    rising: int,
) -> pa.Table:
    """The events of a chunk's clients, sorted by client and time.

    Each event takes 13 uniforms from ``br`` in one draw, each purchase 7
    more; every step below reads its own columns of them.
    """
    ec = _owners(br, cl, events_per_client)
    u = br.random(ec, cols=13)
    # Which funnel step; no newsletters without consent.
    etype = pick_index(cumulative(FUNNEL)[cl.tier[ec]], u[:, 0])
    etype[np.isin(etype, _NEWSLETTER) & ~cl.consent_contact[ec]] = EVENT["view"]
    is_email = np.isin(etype, _NEWSLETTER)
    is_p = etype == EVENT["purchase"]
    # When: activity grows over time.
    span = WINDOW_DAYS - cl.start_day[ec]
    recent = np.where(u[:, 1] < 0.45, u[:, 2], np.sqrt(u[:, 2]))
    day = np.minimum(cl.start_day[ec] + (span * recent).astype(int), WINDOW_DAYS - 1)
    seg, gift = _segments(cl, ec, u, day, is_email, is_p, rising)
    prod = _products(cat, cl, ec, u, day, seg)
    channel, store = _places(cat, cl, ec, u, etype)
    shop_hours = (channel == CHANNEL["store"]) | (channel == CHANNEL["phone"])
    hour = np.where(
        shop_hours, 10 + 9 * u[:, 8], np.where(is_email, 7 + 15 * u[:, 8], 24 * u[:, 8])
    )
    ts = cat.start_seconds + day * DAY + (hour * 3600).astype(np.int64)
    qty = np.where(is_p & (u[:, 12] < 0.04), 2, 1)
    value = np.where(is_p, cat.price[prod] * qty, 0.0)
    drawn = (ec, prod, etype, ts, channel, store, qty, value, gift)
    return _events_table(cat, cl, [drawn, *_derived(br, cat, cl, as_of, drawn)])


def _owners(br: BlockRandom, cl: ClientState, events_per_client: float) -> np.ndarray:
    """The client (chunk row) of each event, in client order.

    How many: by tier, with noise; shorter histories for recent clients; none
    for cold clients.
    """
    days = WINDOW_DAYS
    activity = TIER_ACTIVITY[cl.tier] / (TIER_P @ TIER_ACTIVITY)
    noise = np.exp(0.5 * br.normal() - 0.125)  # mean 1
    history = 0.3 + 0.7 * (days - cl.start_day) / days
    lam = events_per_client / CALIBRATION / (1 - COLD_CLIENT_SHARE) * activity * noise * history
    n_events = np.where(cl.cold, 0, np.maximum(1, br.draw(None, lambda g, s: g.poisson(lam[s]))))
    return np.repeat(np.arange(len(cl.ids)), n_events)


def _segments(
    cl: ClientState,
    ec: np.ndarray,
    u: np.ndarray,
    day: np.ndarray,
    is_email: np.ndarray,
    is_p: np.ndarray,
    rising: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each event's segment, and which purchases are gifts.

    The client's mix, some noise; newsletters push the house's picks; the
    rising segment takes a growing share; gifts go outside the mix.
    """
    days = WINDOW_DAYS
    shares = np.array([s.share for s in SEGMENTS.values()])
    shares = shares / shares.sum()
    seg = pick_index(cumulative((1 - NOISE) * cl.mix + NOISE * shares)[ec], u[:, 3])
    email_cum = cumulative((1 - EMAIL_NOISE) * cl.mix + EMAIL_NOISE * shares)
    seg[is_email] = pick_index(email_cum[ec[is_email]], u[is_email, 3])
    if rising >= 0:
        ramp = np.clip((day - (days - RISING_DAYS)) / RISING_DAYS, 0.0, 1.0) * RISING_PEAK
        seg[~is_email & (u[:, 11] < ramp)] = rising
    gift = is_p & (u[:, 10] < GIFT_RATE)
    outside = cl.mix[ec[gift]] == 0
    k = (u[gift, 3] * outside.sum(axis=1)).astype(int)
    seg[gift] = np.argmax(np.cumsum(outside, axis=1) > k[:, None], axis=1)
    return seg, gift


def _products(
    cat: Catalogue,
    cl: ClientState,
    ec: np.ndarray,
    u: np.ndarray,
    day: np.ndarray,
    seg: np.ndarray,
) -> np.ndarray:
    """Each event's product; moves ``day`` (in place) after the product's launch.

    By popularity within the segment and month; clients in warm cities mostly
    pass on heavy coats, in cold ones on summer pieces.
    """
    n_seg, days = len(SEGMENTS), WINDOW_DAYS
    bucket = day // BUCKET_DAYS
    prod = choose(cat, bucket * n_seg + seg, u[:, 4])
    climate = cat.store_climate[cl.home[ec]]
    too_warm = cat.heavy[prod] & (climate == 0) & (u[:, 5] < 0.7)
    too_cold = cat.light[prod] & (climate == 2) & (u[:, 5] < 0.4)
    redo = too_warm | too_cold
    u_redo = np.where(climate[redo] == 0, u[redo, 5] / 0.7, u[redo, 5] / 0.4)
    prod[redo] = choose(cat, bucket[redo] * n_seg + seg[redo], u_redo)
    launch = cat.launch_day[prod]
    early = launch > day  # launched later in its month: move the event after the launch
    hi = np.maximum(np.minimum((bucket + 1) * BUCKET_DAYS, days), launch + 1)
    day[early] = np.minimum(launch + (u[:, 9] * (hi - launch)).astype(int), days - 1)[early]
    return prod


def _places(
    cat: Catalogue, cl: ClientState, ec: np.ndarray, u: np.ndarray, etype: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Channel and store row (-1 for e-mail) of each event.

    The home boutique mostly, sometimes another; online is a store.
    """
    channel = pick_index(cumulative(CHANNEL_P)[etype], u[:, 6])
    home = cl.home[ec]
    physical_home = home != cat.online
    travel_u = np.where(physical_home, np.clip((u[:, 7] - 0.85) / 0.15, 0.0, 1 - 1e-9), u[:, 7])
    travel = cat.physical[pick_index(cumulative(cat.store_share[cat.physical]), travel_u)]
    in_store = np.where(physical_home & (u[:, 7] < 0.85), home, travel)
    store = np.select(
        [channel == CHANNEL["store"], channel == CHANNEL["phone"], channel == CHANNEL["email"]],
        [in_store, np.where(physical_home, home, cat.online), -1],
        cat.online,
    )
    return channel, store


def _derived(
    br: BlockRandom, cat: Catalogue, cl: ClientState, as_of: pd.Timestamp, drawn: Columns
) -> list[Columns]:
    """Events that follow from purchases: a view before most, a try-on before some
    store purchases, returns (same client, product, quantity) after a few, and
    the planted next step after some purchases of entry pieces."""
    ec, prod, etype, ts, channel, store, qty, value, gift = drawn
    pi = np.flatnonzero(etype == EVENT["purchase"])
    up = br.random(ec[pi], cols=7)
    first_day = np.maximum(np.maximum(cat.launch_day[prod[pi]], cl.start_day[ec[pi]]), 0)
    floor = cat.start_seconds + first_day * DAY
    v = up[:, 0] < np.where(gift[pi], 0.5, VIEW_BEFORE_PURCHASE)
    view_ts = np.maximum(ts[pi] - 600 - (up[:, 1] ** 2 * 21 * DAY).astype(np.int64), floor)
    view_ch = np.where(up[:, 2] < 0.6, CHANNEL["online"], CHANNEL["app"])
    t = (channel[pi] == CHANNEL["store"]) & (up[:, 3] < TRY_BEFORE_STORE_PURCHASE)
    try_ts = np.maximum(ts[pi] - 300 - (up[:, 4] * 3300).astype(np.int64), floor)
    ret_ts = ts[pi] + 2 * DAY + (up[:, 6] * 28 * DAY).astype(np.int64)
    ret = (up[:, 5] < RETURN_RATE) & (ret_ts < epoch_seconds(as_of))
    nxt, next_ts = _next_steps(br, cat, as_of, ec[pi], prod[pi], ts[pi], gift[pi])
    in_person = np.isin(channel[pi], [CHANNEL["store"], CHANNEL["phone"]])
    ret_ch = np.where(in_person, CHANNEL["store"], CHANNEL["online"])
    ret_store = np.where(in_person, store[pi], cat.online)
    return [
        (ec[pi][v], prod[pi][v], EVENT["view"], view_ts[v], view_ch[v], cat.online, 1, 0.0, False),
        (
            ec[pi][t],
            prod[pi][t],
            EVENT["try_on"],
            try_ts[t],
            CHANNEL["store"],
            store[pi][t],
            1,
            0.0,
            False,
        ),
        (
            ec[pi][ret],
            prod[pi][ret],
            EVENT["return"],
            ret_ts[ret],
            ret_ch[ret],
            ret_store[ret],
            qty[pi][ret],
            value[pi][ret],
            gift[pi][ret],
        ),
        (
            ec[pi][nxt],
            cat.next_step[prod[pi][nxt]],
            EVENT["purchase"],
            next_ts[nxt],
            channel[pi][nxt],
            store[pi][nxt],
            1,
            cat.price[cat.next_step[prod[pi][nxt]]],
            False,
        ),
    ]


def _next_steps(
    br: BlockRandom,
    cat: Catalogue,
    as_of: pd.Timestamp,
    owner: np.ndarray,
    prod: np.ndarray,
    ts: np.ndarray,
    gift: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which purchases lead to a purchase of their signature piece, and when.

    The planted progression (``Catalogue.next_step``): a purchase of an entry
    piece for oneself leads to the signature piece with
    :data:`NEXT_STEP_RATE`, some :data:`NEXT_STEP_DAYS` later, when that falls
    before ``as_of`` and after the signature piece's launch. Draws 2 uniforms
    per purchase, after every other draw of the chunk.
    """
    u = br.random(owner, cols=2)
    target = cat.next_step[prod]
    lo, hi = NEXT_STEP_DAYS
    when = ts + ((lo + (hi - lo) * u[:, 1]) * DAY).astype(np.int64)
    launched = cat.start_seconds + cat.launch_day[np.maximum(target, 0)] * DAY
    ok = (target >= 0) & ~gift & (u[:, 0] < NEXT_STEP_RATE)
    return ok & (when < epoch_seconds(as_of)) & (when >= launched), when


def _events_table(cat: Catalogue, cl: ClientState, parts: list[Columns]) -> pa.Table:
    """The ``events`` table of all ``parts``, sorted by client and time."""
    cols = [np.concatenate([np.broadcast_to(p[j], p[0].shape) for p in parts]) for j in range(9)]
    order = np.lexsort((cols[3], cols[0]))
    e_client, e_prod, e_type, e_ts, e_ch, e_store, e_qty, e_value, e_gift = (c[order] for c in cols)
    return arrow_table(
        "events",
        {
            "client_id": pa.array(cl.ids, type=pa.string()).take(pa.array(e_client)),
            "product_id": cat.product_ids.take(pa.array(e_prod)),
            "event_type": pa.array(EVENT_TYPES, type=pa.string()).take(pa.array(e_type)),
            "timestamp": as_datetimes(e_ts),
            "channel": pa.array(CHANNELS, type=pa.string()).take(pa.array(e_ch)),
            "store_id": cat.store_ids.take(pa.array(e_store, mask=e_store < 0)),
            "quantity": e_qty.astype(np.int64),
            "value": e_value.astype(float),
            "is_gift": e_gift.astype(bool),
            "reason": return_reasons(e_prod, e_ts, e_type == EVENT["return"], cat.sized),
        },
    )
