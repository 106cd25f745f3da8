"""The stores of the Online Retail data: the online store, and one per customer country (the client's market)."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from core.data.importers.common import bool_text
from core.data.schema import ONLINE_STORE_ID

COUNTRY_CLIMATES: dict[str, str] = {
    **dict.fromkeys(
        (
            "australia",
            "bahrain",
            "brazil",
            "cyprus",
            "greece",
            "hong kong",
            "israel",
            "lebanon",
            "malta",
            "portugal",
            "rsa",
            "saudi arabia",
            "singapore",
            "spain",
            "united arab emirates",
            "west indies",
        ),
        "warm",
    ),
    **dict.fromkeys(
        (
            "canada",
            "estonia",
            "finland",
            "iceland",
            "latvia",
            "lithuania",
            "norway",
            "russia",
            "sweden",
        ),
        "cold",
    ),
}
"""Climate of a customer country (lower case); other countries are temperate."""

DEFAULT_CLIMATE = "temperate"
HOME_COUNTRY = "United Kingdom"
"""Where the online store is (the retailer is UK-based)."""


def country_store_id(country: str) -> str:
    """The store id of a customer country: a lower-case ASCII slug.

    Examples
    --------
    >>> country_store_id("United Kingdom"), country_store_id("Côte d'Ivoire")
    ('united-kingdom', 'cote-d-ivoire')
    """
    ascii_ = unicodedata.normalize("NFKD", country).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "unknown-country"
    return f"country-{slug}" if slug == ONLINE_STORE_ID else slug


def country_stores(home_country: pd.Series) -> tuple[pd.DataFrame, dict[str, str]]:
    """The online store, then one store per country of ``home_country`` (sorted).

    Parameters
    ----------
    home_country : Series of str
        Each client's country.

    Returns
    -------
    stores : DataFrame
        As contract text.
    store_of : dict of str to str
        The store id of each country (a numbered slug when two slugs clash).
    """
    store_of: dict[str, str] = {}
    for country in sorted(home_country.unique()):
        store_id, n = country_store_id(country), 2
        while store_id in store_of.values():
            store_id, n = f"{country_store_id(country)}-{n}", n + 1
        store_of[country] = store_id
    online = {
        "store_id": ONLINE_STORE_ID,
        "name": "Online",
        "city": "",
        "country": HOME_COUNTRY,
        "climate": DEFAULT_CLIMATE,
        "online": bool_text(True),
    }
    markets = [
        {
            "store_id": store_id,
            "name": country,
            "city": "",
            "country": country,
            "climate": COUNTRY_CLIMATES.get(country.casefold(), DEFAULT_CLIMATE),
            "online": bool_text(False),
        }
        for country, store_id in store_of.items()
    ]
    return pd.DataFrame([online, *markets]), store_of
