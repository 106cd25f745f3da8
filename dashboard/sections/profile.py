"""The Client page's own sections: header, contact warning, activity, taste, preferences, dates.

Pure helpers (``upcoming_dates``, ``activity_rows``, ``declared_preferences``)
return plain data and are unit-tested; ``render_*`` functions draw them.
Everything the client or an associate typed is shown through ``safe`` /
``plain``; HTML is built only from escaped text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from core.app.access import can, can_see_contact, contact_for
from core.data.schema import split_list
from core.engine.purchases import VOLUNTEERED_EVENTS
from core.store import Store
from dashboard import resources, state
from dashboard.charts.client import activity_figure, taste_profile_figure
from dashboard.widgets.cards import full_name, tier_label, when
from dashboard.widgets.chips import render_chips
from dashboard.widgets.swatch import swatch_html
from dashboard.widgets.text import plain, safe, safe_html

UPCOMING_DAYS = 60
#: Below this many purchases/try-ons/wishlists the table alone says it all.
TIMELINE_MIN_EVENTS = 4
#: Signals the client did not volunteer: internal only, never said out loud.
INTERNAL = ("view", "zoom", "email_open", "email_click")
EVENT_LABELS: dict[str, str] = {
    "purchase": "Purchase",
    "return": "Return",
    "try_on": "Try-on",
    "wishlist": "Wishlist",
    "view": "Viewed online",
    "zoom": "Zoomed in",
    "email_open": "Opened an email",
    "email_click": "Clicked an email",
}


# ------------------------------------------------------------------ context
def _effective_consent(services: Store, client: pd.Series, field: str) -> bool:
    value = bool(client.get(field, False))
    return bool(services.consent.effective_consent(str(client["client_id"]), field, value))


def recent_contact(
    services: Store,
    client: pd.Series,
    cooldown_days: int,
    *,
    as_of: pd.Timestamp,
    now: datetime | None = None,
) -> datetime | None:
    """When the client was contacted within the cooldown, else ``None``.

    Two sources: shares recorded in Atelier (against the wall clock) and the
    data's own ``last_contacted_at`` (against the data's "now", ``as_of``).
    """
    now = now or datetime.now(UTC)
    window = timedelta(days=cooldown_days)
    found: list[datetime] = []
    last = services.shares.last_contact(str(client["client_id"]))
    if last is not None and now - last <= window:
        found.append(_aware(last))
    listed = client.get("last_contacted_at")
    if listed is not None and pd.notna(listed) and pd.notna(as_of):
        listed_ts = pd.Timestamp(listed)
        if pd.Timestamp(as_of) - listed_ts <= window:
            found.append(_aware(listed_ts.to_pydatetime()))
    return max(found) if found else None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_context(client_id: str, user: Any, bundle: resources.Bundle) -> state.ClientPageContext:
    """Everything the Client page sections need, if ``user`` may open the client.

    Raises ``UnknownIdError`` for a bad id and ``AccessDeniedError`` when the
    access policy refuses the client (the client id may come from forged session state).
    """
    dataset = bundle.dataset
    client = resources.get_curation(bundle).open_client(str(client_id), user.user_id)
    services = bundle.services
    return state.ClientPageContext(
        client_id=str(client_id),
        client=client,
        user=user,
        dataset=dataset,
        model=bundle.model,
        services=services,
        settings=bundle.settings,
        can_see_contact=can_see_contact(user, client),
        personalised=_effective_consent(services, client, "consent_personalization"),
        recently_contacted=recent_contact(
            services, client, bundle.settings.contact_cooldown_days, as_of=dataset.as_of
        ),
        as_of=dataset.as_of,
    )


def audit_view(ctx: state.ClientPageContext) -> bool:
    """Write one ``view_client`` audit entry per open of a client (not per rerun)."""
    if st.session_state.get(state.VIEWED_CLIENT) == ctx.client_id:
        return False
    ctx.services.audit.append(
        ctx.user.user_id, "view_client", "client", ctx.client_id, {"page": "client"}
    )
    state.mark_viewed(ctx.client_id)
    return True


# ------------------------------------------------------------------ pure helpers
@dataclass(frozen=True)
class UpcomingDate:
    label: str
    date: pd.Timestamp
    days: int


def upcoming_dates(
    client: pd.Series | dict[str, Any], as_of: pd.Timestamp, window_days: int = UPCOMING_DAYS
) -> list[UpcomingDate]:
    """Birthday and anniversary falling within ``window_days`` after ``as_of``, soonest first.

    The year of the stored date is ignored (the next occurrence counts); 29 February
    falls on 28 February in other years.
    """
    today = pd.Timestamp(as_of).normalize()
    found: list[UpcomingDate] = []
    for field, label in (("birthday", "Birthday"), ("anniversary", "Anniversary")):
        value = client.get(field)
        if value is None or pd.isna(value):
            continue
        stored = pd.Timestamp(value)
        for year in (today.year, today.year + 1):
            day = min(stored.day, 28) if (stored.month, stored.day) == (2, 29) else stored.day
            try:
                nxt = pd.Timestamp(year=year, month=stored.month, day=stored.day)
            except ValueError:
                nxt = pd.Timestamp(year=year, month=stored.month, day=day)
            if nxt >= today:
                break
        days = int((nxt - today).days)
        if 0 <= days <= window_days:
            found.append(UpcomingDate(label, nxt, days))
    return sorted(found, key=lambda d: d.days)


def activity_rows(
    events: pd.DataFrame,
    products: pd.DataFrame,
    store_names: dict[str, str],
    *,
    internal: bool,
    limit: int = 50,
) -> pd.DataFrame:
    """A client's events as display rows, newest first.

    Parameters
    ----------
    internal : bool
        ``False``: only what the client volunteered (purchases, returns,
        try-ons, wishlists). ``True``: only browsing and email signals.
    """
    kinds = INTERNAL if internal else VOLUNTEERED_EVENTS
    ev = events[events["event_type"].isin(kinds)].sort_values("timestamp", ascending=False)
    ev = ev.head(limit)
    names = products.set_index("product_id")["name"] if len(products) else pd.Series(dtype=str)
    designers = (
        products.set_index("product_id")["designer"]
        if "designer" in products
        else pd.Series(dtype=str)
    )
    out = pd.DataFrame(
        {
            "When": pd.to_datetime(ev["timestamp"]).dt.strftime("%d %b %Y").to_numpy(),
            "What": ev["event_type"].map(EVENT_LABELS).fillna(ev["event_type"]).to_numpy(),
            "Product": [plain(v, 80) for v in ev["product_id"].map(names).fillna("")],
            "Designer": [plain(v, 60) for v in ev["product_id"].map(designers).fillna("")],
            "Where": [
                plain(store_names.get(str(s), s) if s is not None and pd.notna(s) else c, 60)
                for s, c in zip(ev["store_id"], ev["channel"], strict=True)
            ],
            "Gift": ev["is_gift"].map({True: "gift", False: ""}).to_numpy()
            if "is_gift" in ev
            else "",
        }
    )
    if internal:
        out["Visibility"] = "internal"
    return out.reset_index(drop=True)


def declared_preferences(client: pd.Series | dict[str, Any]) -> dict[str, list[str]]:
    """What the client told us: designers, categories, colours, materials (lists of text)."""
    fields = {
        "Designers": "pref_designers",
        "Categories": "pref_categories",
        "Colours": "pref_colors",
        "Materials": "pref_materials",
    }
    return {label: split_list(client.get(col)) for label, col in fields.items()}


def price_band(client: pd.Series | dict[str, Any], currency: str = "EUR") -> str:
    """ "EUR 500 – 3,000", "from EUR 500", "up to EUR 3,000" or ""."""
    lo, hi = client.get("price_min"), client.get("price_max")
    lo = None if lo is None or pd.isna(lo) else float(lo)
    hi = None if hi is None or pd.isna(hi) else float(hi)
    if lo is not None and hi is not None:
        return f"{currency} {lo:,.0f} – {hi:,.0f}"
    if lo is not None:
        return f"from {currency} {lo:,.0f}"
    if hi is not None:
        return f"up to {currency} {hi:,.0f}"
    return ""


def sizes(client: pd.Series | dict[str, Any]) -> dict[str, str]:
    """Declared sizes that are filled in: ready-to-wear, shoes, ring."""
    fields = {"Ready-to-wear": "size_rtw", "Shoes": "size_shoes", "Ring": "size_ring"}
    out = {}
    for label, col in fields.items():
        value = plain(client.get(col), 20)
        if value and value.lower() != "nan":
            out[label] = value
    return out


# ------------------------------------------------------------------ rendering
def render_header(ctx: state.ClientPageContext) -> None:
    """Name, tier, home store, assigned associate, consent badges, contact (if allowed)."""
    client = ctx.client
    stores = resources.store_names(ctx.dataset)
    associates = resources.associate_names(ctx.dataset)
    st.header(safe(full_name(client), 120), anchor=False)
    assigned_id = client.get("assigned_associate_id")
    assigned = (
        associates.get(str(assigned_id), str(assigned_id))
        if assigned_id is not None and pd.notna(assigned_id)
        else "nobody"
    )
    home = stores.get(str(client.get("home_store_id")), str(client.get("home_store_id")))
    meta = [
        tier_label(client.get("tier")),
        f"home store {plain(home, 60)}",
        f"assigned to {plain(assigned, 60)}",
        f"client id {plain(ctx.client_id, 40)}",
    ]
    st.markdown(safe(" · ".join(meta), 400))
    contact_ok = _effective_consent(ctx.services, client, "consent_contact")
    render_chips(
        [
            (
                "Personalisation: yes" if ctx.personalised else "Personalisation: no",
                "good" if ctx.personalised else "warn",
            ),
            ("Contact: yes" if contact_ok else "Contact: no", "good" if contact_ok else "warn"),
        ]
    )
    contact = contact_for(ctx.user, client)
    if ctx.can_see_contact:
        # HTML (escaped) rather than Markdown: Markdown would turn the email into a
        # small mailto link.
        st.markdown(
            f'<div class="atelier-contact">Email: {safe_html(contact["email"], 200)}'
            f" · Phone: {safe_html(contact['phone'], 60)}</div>",
            unsafe_allow_html=True,
        )
    else:
        st.caption(
            "Contact details are shown only to the client's home store and assigned associate."
        )


def render_contact_warning(ctx: state.ClientPageContext) -> None:
    """Warn when the client was contacted within the cooldown."""
    message = ctx.services.shares.contact_warning(ctx.client_id)
    if message is None and ctx.recently_contacted is not None:
        message = (
            f"Recently contacted ({when(ctx.recently_contacted, as_of=ctx.as_of)}); "
            f"the guideline is to wait {ctx.settings.contact_cooldown_days} days between contacts."
        )
    if message:
        st.warning(safe(message, 400), icon="⚠️")
    if not ctx.personalised:
        st.info(
            "This client has not consented to personalisation: suggestions are generic "
            "(trending and new arrivals), and no taste profile is shown."
        )


def render_activity(ctx: state.ClientPageContext) -> None:
    """Purchases, wishlists, try-ons and returns; browsing separately, labelled internal."""
    events = resources.client_events(ctx.dataset, ctx.client_id)
    stores = resources.store_names(ctx.dataset)
    volunteered = activity_rows(events, ctx.dataset.products, stores, internal=False)
    if volunteered.empty:
        st.write("No purchases, try-ons or wishlists yet.")
    else:
        given = events[events["event_type"].isin(VOLUNTEERED_EVENTS)]
        if len(given) >= TIMELINE_MIN_EVENTS:
            st.plotly_chart(
                activity_figure(given.assign(event_type=given["event_type"].map(EVENT_LABELS))),
                width="stretch",
                config={"displayModeBar": False, "scrollZoom": False},
                key=ctx.key("timeline"),
            )
        st.dataframe(volunteered, hide_index=True, width="stretch")
    if can(ctx.user.role, "view_internal"):
        browsing = activity_rows(events, ctx.dataset.products, stores, internal=True)
        with st.expander(f"Browsing and email signals — internal ({len(browsing)})"):
            st.caption("Internal: the client did not tell us this. Never mention it to the client.")
            if browsing.empty:
                st.write("None.")
            else:
                st.dataframe(browsing, hide_index=True, width="stretch")


def render_taste(ctx: state.ClientPageContext) -> None:
    """The taste profile chart (only with consent to personalisation)."""
    if not ctx.personalised:
        st.write("No taste profile: the client has not consented to personalisation.")
        return
    taste = getattr(ctx.model, "taste_profile", None)
    if taste is None:
        st.write("The model in use does not describe taste profiles.")
        return
    profile = taste(ctx.client_id)
    st.plotly_chart(
        taste_profile_figure(profile),
        width="stretch",
        config={"displayModeBar": False, "scrollZoom": False},
        key=ctx.key("taste"),
    )
    st.caption("Strongest taste factors, named by the attributes that load on them.")


def render_preferences(ctx: state.ClientPageContext) -> None:
    """Declared preferences, price band, sizes and upcoming dates."""
    client = ctx.client
    left, right = st.columns(2)
    with left:
        st.markdown("**Declared preferences**")
        prefs = declared_preferences(client)
        shown = False
        for label, values in prefs.items():
            if not values:
                continue
            shown = True
            if label == "Colours":
                swatches = " ".join(swatch_html(v) for v in values[:12])
                st.markdown(f"{safe(label)}: {swatches}", unsafe_allow_html=True)
            else:
                st.markdown(f"{safe(label)}: {safe(', '.join(values), 300)}")
        band = price_band(client)
        if band:
            shown = True
            st.markdown(f"Price band: {safe(band)}")
        if bool(client.get("sustainable_only", False)):
            shown = True
            st.markdown("Sustainable pieces only")
        if not shown:
            st.write("Nothing declared yet.")
    with right:
        st.markdown("**Sizes**")
        found = sizes(client)
        if found:
            st.markdown(safe(" · ".join(f"{k} {v}" for k, v in found.items()), 200))
        else:
            st.write("No sizes on file.")
        st.markdown("**Upcoming dates**")
        dates = upcoming_dates(client, ctx.as_of)
        if dates:
            for d in dates:
                soon = "today" if d.days == 0 else f"in {d.days} day{'s' if d.days != 1 else ''}"
                st.markdown(safe(f"{d.label}: {d.date.day} {d.date:%B} ({soon})"))
        else:
            st.write(f"No birthday or anniversary in the next {UPCOMING_DAYS} days.")
