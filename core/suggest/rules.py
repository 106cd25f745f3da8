"""House rules: hard exclusions and soft penalties, each explaining itself.

A :class:`RuleSet` is read from a TOML policy file (the shipped one is
``core/suggest/default_rules.toml``, loaded by :meth:`RuleSet.default`) and applied
to one client at a time::

    rules = RuleSet.default()
    result = rules.apply(dataset, "C000123", removed_products=["P0042"])
    result.allowed        # bool, one per product (dataset.product_ids order)
    result.penalty        # float >= 0, one per product
    result.exclusions     # DataFrame[product_id, rule, detail]
    result.why_not("P0042")

Hard exclusions (a product failing any of them is never suggested):

``already_bought``
    Bought by the client and not (fully) returned, unless its category is in
    ``repeatable_categories``.
``out_of_stock``
    Zero units in the client's home store and online (``stores =
    "home_and_online"``), or in every store (``stores = "any"``).
``size_out_of_stock``
    Stocked per size, and none in the client's size where she shops (her
    home store, ``stores = "home"``; or online too, ``"home_and_online"``),
    worded like "no 38 in Paris; 2 online" (:mod:`core.suggest.sizes`). A size
    not on file excludes nothing.
``sensitive``
    Flagged ``sensitive`` in the catalogue.
``brand_alignment``
    Declarative conditions: when the client matches ``when_client``, products
    matching ``exclude_product`` are excluded. A condition is ``column
    operator literal`` with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
    ``in`` or ``not in`` (a list literal ``[a, b]``); it is parsed, never
    evaluated as code. Text compares case-insensitively.
``do_not_suggest``
    The client's own do-not-suggest list.
``removed_by_associate``
    Products and categories an associate removed for this client (the caller
    passes them from the database).
``no_consent``
    Excludes nothing: without ``consent_personalization`` the result is marked
    not personalised (:attr:`RuleResult.personalized`), the rules that read
    the client's behaviour (``already_bought``, the price band inferred from
    purchases) are skipped, and the pipeline shows generic suggestions.

Rules marked ``overridable`` let through the products the caller explicitly
allows (an associate adding or pinning a product by hand); ``do_not_suggest``
and brand alignment (unless configured) are never overridden.

Soft penalties (each recorded in :attr:`RuleResult.penalties`) are additive
on the pipeline's relevance scale: :mod:`core.suggest.pipeline` min-max scales a
client's candidate scores to [0, 1] and subtracts ``penalty`` (and adds
context boosts). So a penalty of 0.3 costs three tenths of the distance
between the best and the weakest candidate; penalties of several rules add.

``price_band``
    A price ``r`` times beyond the edge of the client's band (declared
    ``price_min``/``price_max``, else ``[cheapest, dearest]`` of their own
    purchases) costs ``weight * clip(log(r / (1 + tolerance)) / log(full_at),
    0, 1)``, with separate weights above and below the band.
``climate``
    ``weight`` for a heavy piece when the home store's climate is warm, or a
    light one when it is cold.
``recently_shown``
    ``weight`` for products the caller says were shown to the client recently.
``fit_returns``
    For a client who returned a piece of a category for fit (``reason =
    "fit"``): ``weight * clip(rate / full_at, 0, 1)`` on the category's
    products, ``rate`` their smoothed share of units returned for fit
    (:class:`core.suggest.sizes.FitReturns`), so her list leans to pieces
    rarely returned for fit.

Everything per product is vectorised; what depends only on the dataset
(stock per store, purchases per client, category codes, ...) is computed once
per dataset in the :class:`~core.suggest.catalogue.Catalogue`. The condition
language lives in :mod:`core.suggest.conditions`, the policy file's schema in
:mod:`core.suggest.policy`, the result in :mod:`core.suggest.rule_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from core.config_files import read_toml
from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.data.schema import split_list
from core.engine.purchases import ClientHistory
from core.exceptions import ConfigError
from core.suggest.catalogue import Catalogue, Client
from core.suggest.policy import ContextConfig, RuleConfig, config_error
from core.suggest.rule_result import Detail, Fired, RuleResult
from core.suggest.sizes import FitReturns, SizeStock, client_sizes

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.toml")

#: Hard exclusion rules, in the order they are checked and reported.
RULE_NAMES: tuple[str, ...] = (
    "no_consent",
    "do_not_suggest",
    "removed_by_associate",
    "sensitive",
    "brand_alignment",
    "already_bought",
    "out_of_stock",
    "size_out_of_stock",
)
#: Soft penalties, in the order they are reported.
PENALTY_NAMES: tuple[str, ...] = ("price_band", "climate", "recently_shown", "fit_returns")

NO_CONSENT_NOTE = "no_consent: personalisation is off for this client; their history is not used"


class _Exclusions:
    """The hard rules that fired for one client, in the order they were checked."""

    def __init__(self, n: int, allow_idx: np.ndarray) -> None:
        self.n = n
        self.allow_idx = allow_idx
        self.allow = np.zeros(n, dtype=bool)
        self.allow[allow_idx] = True
        self.fired: list[Fired] = []

    def add(self, rule: str, mask: np.ndarray, detail: Detail, overridable: bool) -> None:
        """Record ``rule`` on ``mask`` (less the allowed products when it is overridable)."""
        if overridable and self.allow_idx.size:
            mask = mask & ~self.allow
        if mask.any():
            self.fired.append(Fired(rule, mask, detail))

    def add_indices(self, rule: str, idx: np.ndarray, detail: Detail, overridable: bool) -> None:
        if idx.size:
            mask = np.zeros(self.n, dtype=bool)
            mask[idx] = True
            self.add(rule, mask, detail, overridable)

    def allowed(self) -> np.ndarray:
        allowed = np.ones(self.n, dtype=bool)
        for f in self.fired:
            allowed &= ~f.mask
        return allowed


class RuleSet:
    """A validated policy: exclusions, penalties and context boosts.

    Parameters
    ----------
    config : RuleConfig, optional
        The policy; default: :class:`RuleConfig` defaults (no brand-alignment
        rules). :meth:`default` loads the shipped policy file instead.
    """

    def __init__(self, config: RuleConfig | None = None) -> None:
        self.config = config if config is not None else RuleConfig()
        self._brand = [
            (r, r.client_conditions(), r.product_conditions())
            for r in self.config.rules.brand_alignment
            if r.enabled
        ]

    def __repr__(self) -> str:
        return f"RuleSet({self.config!r})"

    # ---------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "rules") -> RuleSet:
        """Validate a policy given as nested dicts (the TOML's structure).

        Raises
        ------
        ConfigError
            Naming every bad key (unknown rule, wrong type, bad condition).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"invalid rules in {source}: expected a table of settings")
        try:
            return cls(RuleConfig.model_validate(dict(data)))
        except ValidationError as err:
            raise config_error(err, source) from None

    @classmethod
    def from_toml(cls, path: str | Path) -> RuleSet:
        """Read a policy file (see ``core/suggest/default_rules.toml`` for every key).

        Raises
        ------
        ConfigError
            When the file is missing, is not TOML, or holds a bad key.
        """
        return cls.from_dict(read_toml(path, "rules file"), source=str(path))

    @classmethod
    def default(cls) -> RuleSet:
        """The shipped policy (``core/suggest/default_rules.toml``)."""
        return cls.from_toml(DEFAULT_RULES_PATH)

    @classmethod
    def default_for(cls, dataset: Dataset) -> RuleSet:
        """The shipped policy, read once per dataset (kept with it)."""
        return dataset.derived((RuleSet, "default"), cls.default)

    @property
    def context(self) -> ContextConfig:
        return self.config.context

    # ------------------------------------------------------------- consent
    def personalization_allowed(
        self, client_row: pd.Series, consent_override: bool | None = None
    ) -> bool:
        """Whether this client's history may be used (``no_consent`` rule)."""
        if not self.config.rules.no_consent.enabled:
            return True
        if consent_override is not None:
            return bool(consent_override)
        return bool(client_row.get("consent_personalization", False))

    # --------------------------------------------------------------- apply
    def apply(
        self,
        dataset: Dataset,
        client_id: str,
        *,
        removed_products: Iterable[str] = (),
        removed_categories: Iterable[str] = (),
        allow: Iterable[str] = (),
        recently_shown: Iterable[str] = (),
        consent_override: bool | None = None,
        extra_events: pd.DataFrame | None = None,
    ) -> RuleResult:
        """Apply every rule to every product for one client.

        Parameters
        ----------
        dataset : Dataset
        client_id : str
            A client of ``dataset``.
        removed_products, removed_categories : iterable of str
            What associates removed for this client (from the database).
            Ids no longer in the catalogue are ignored.
        allow : iterable of product ids
            Explicitly wanted by the caller (added or pinned by hand): they
            pass the rules marked ``overridable``.
        recently_shown : iterable of product ids
            Shown to the client recently (``recently_shown`` penalty).
        consent_override : bool, optional
            Consent recorded since the data was loaded (replaces the
            dataset's ``consent_personalization``).
        extra_events : DataFrame, optional
            Events not in the dataset yet; their purchases and returns of
            this client count for ``already_bought``.

        Returns
        -------
        RuleResult
            With the client looked up (:attr:`RuleResult.client`).

        Raises
        ------
        UnknownIdError
            For an unknown client.

        Longer than 60 lines for this documentation only; the body is 22 lines.
        """
        catalogue = Catalogue.of(dataset)
        client = catalogue.client(client_id, extra_events)
        personal = self.personalization_allowed(client.row, consent_override)
        found = _Exclusions(catalogue.n_products, _known(dataset.product_ids, allow))
        self._client_lists(found, catalogue, client, removed_products, removed_categories)
        self._product_rules(found, catalogue, client)
        if personal:
            self._already_bought(found, catalogue, client)
        self._out_of_stock(found, catalogue, client.home_store)
        self._size_out_of_stock(found, dataset, client_sizes(client.row), client.home_store)
        penalised, parts = self._penalties(catalogue, client, personal, recently_shown)
        return RuleResult(
            client_id=str(client_id),
            product_ids=dataset.product_ids,
            allowed=found.allowed(),
            penalty=_total(parts, catalogue.n_products),
            personalized=personal,
            fired=tuple(found.fired),
            penalised=tuple(penalised),
            penalty_parts=tuple(parts),
            note=None if personal else NO_CONSENT_NOTE,
            client=client,
        )

    def _client_lists(
        self,
        found: _Exclusions,
        catalogue: Catalogue,
        client: Client,
        removed_products: Iterable[str],
        removed_categories: Iterable[str],
    ) -> None:
        """``do_not_suggest`` and ``removed_by_associate``: what this client must not see."""
        cfg = self.config.rules
        pids = catalogue.dataset.product_ids
        if cfg.do_not_suggest.enabled:
            idx = _known(pids, split_list(client.row.get("do_not_suggest", "")))
            found.add_indices("do_not_suggest", idx, "on the client's do-not-suggest list", False)
        if not cfg.removed_by_associate.enabled:
            return
        overridable = cfg.removed_by_associate.overridable
        found.add_indices(
            "removed_by_associate",
            _known(pids, removed_products),
            "removed for this client by an associate",
            overridable,
        )
        cats = [c for c in removed_categories if str(c).strip()]
        if cats:
            labels = catalogue.category_labels
            found.add(
                "removed_by_associate",
                catalogue.category_mask(cats),
                lambda i: [
                    f"category '{c}' removed for this client by an associate" for c in labels[i]
                ],
                overridable,
            )

    def _product_rules(self, found: _Exclusions, catalogue: Catalogue, client: Client) -> None:
        """``sensitive`` and the brand-alignment rules the client matches."""
        cfg = self.config.rules
        if cfg.sensitive.enabled:
            found.add(
                "sensitive",
                catalogue.sensitive,
                "flagged sensitive: never volunteered",
                cfg.sensitive.overridable,
            )
        for rule, client_conds, product_conds in self._brand:
            if all(c.holds(client.row.get(c.column)) for c in client_conds):
                m = np.ones(catalogue.n_products, dtype=bool)
                for pc in product_conds:
                    m &= catalogue.condition_mask(pc)
                why = rule.detail or (
                    " and ".join(c.text for c in client_conds) or "every client"
                ) + " -> " + " and ".join(c.text for c in product_conds)
                found.add("brand_alignment", m, f"{rule.name}: {why}", rule.overridable)

    def _already_bought(
        self,
        found: _Exclusions,
        catalogue: Catalogue,
        client: Client,
    ) -> None:
        ab = self.config.rules.already_bought
        if not ab.enabled:
            return
        idx = client.history.bought(count_gifts=ab.count_gifts)
        if idx.size:
            m = np.zeros(catalogue.n_products, dtype=bool)
            m[idx] = True
            if ab.repeatable_categories:
                m &= ~catalogue.category_mask(ab.repeatable_categories)
            found.add("already_bought", m, _bought_detail(client.history), ab.overridable)

    def _out_of_stock(self, found: _Exclusions, catalogue: Catalogue, home: str) -> None:
        oos = self.config.rules.out_of_stock
        if not oos.enabled:
            return
        if oos.stores == "any":
            qty = catalogue.quantity_anywhere
            detail: Detail = "0 in every store"
        else:
            online = catalogue.online_stores
            qty = catalogue.quantity(((home,) if home else ()) + online)
            detail = _stock_detail(catalogue, home, online)
        found.add("out_of_stock", qty <= 0, detail, oos.overridable)

    def _size_out_of_stock(
        self, found: _Exclusions, dataset: Dataset, sizes: Mapping[str, str], store_id: str
    ) -> None:
        rule = self.config.rules.size_out_of_stock
        if not rule.enabled:
            return
        mask, detail = SizeStock.of(dataset).exclusion(
            sizes, store_id, with_online=rule.stores == "home_and_online"
        )
        found.add("size_out_of_stock", mask, detail, rule.overridable)

    def size_mask(
        self, dataset: Dataset, sizes: Mapping[str, str], store_id: str | None
    ) -> np.ndarray:
        """Allowed mask of ``size_out_of_stock`` for someone's sizes (a gift recipient's) at a store."""
        rule = self.config.rules.size_out_of_stock
        if not rule.enabled or not any(sizes.values()):
            return np.ones(len(dataset.product_ids), dtype=bool)
        mask, _ = SizeStock.of(dataset).exclusion(
            sizes, store_id or "", with_online=rule.stores == "home_and_online"
        )
        return ~mask

    def product_rules(
        self, dataset: Dataset, store_id: str | None = None, *, allow: Iterable[str] = ()
    ) -> np.ndarray:
        """Client-independent exclusions (``sensitive``, ``out_of_stock``): allowed mask.

        Used for generic suggestions and gift mode, which read nobody's
        history. ``store_id`` is the store whose stock counts (plus online).
        """
        catalogue = Catalogue.of(dataset)
        cfg = self.config.rules
        allowed = np.ones(catalogue.n_products, dtype=bool)
        allow_mask = np.zeros(catalogue.n_products, dtype=bool)
        allow_mask[_known(dataset.product_ids, allow)] = True
        if cfg.sensitive.enabled:
            m = catalogue.sensitive & ~(allow_mask if cfg.sensitive.overridable else False)
            allowed &= ~m
        if cfg.out_of_stock.enabled:
            if cfg.out_of_stock.stores == "any" or store_id is None:
                qty = catalogue.quantity_anywhere
            else:
                qty = catalogue.quantity((str(store_id),) + catalogue.online_stores)
            m = (qty <= 0) & ~(allow_mask if cfg.out_of_stock.overridable else False)
            allowed &= ~m
        return allowed

    # ----------------------------------------------------------- penalties
    def _price_band(
        self, catalogue: Catalogue, client: Client, personal: bool
    ) -> tuple[float, float, str] | None:
        lo, hi = client.row.get("price_min"), client.row.get("price_max")
        lo = None if lo is None or pd.isna(lo) else float(lo)
        hi = None if hi is None or pd.isna(hi) else float(hi)
        if lo is not None or hi is not None:
            return (lo or 0.0, hi if hi is not None else np.inf, "declared")
        pb = self.config.penalties.price_band
        if personal and pb.infer_from_purchases:
            idx = client.history.bought(count_gifts=False)
            if idx.size >= pb.min_purchases:
                prices = catalogue.price[idx]
                return (float(prices.min()), float(prices.max()), "from their purchases")
        return None

    def _price_band_penalty(
        self, catalogue: Catalogue, client: Client
    ) -> tuple[Fired, np.ndarray] | None:
        """``price_band``: prices far outside the client's band, beyond the tolerance."""
        band = self._price_band(catalogue, client, True)
        if band is None:
            return None
        pb = self.config.penalties.price_band
        lo, hi, origin = band
        price = catalogue.price
        scale = np.log(pb.full_at)
        amt = np.zeros(catalogue.n_products)
        # Only prices beyond the tolerated edges need the logs.
        for idx, ratio, weight in (
            (np.flatnonzero(price > hi * (1 + pb.tolerance)), None, pb.weight_above),
            (np.flatnonzero(price * (1 + pb.tolerance) < lo), lo, pb.weight_below),
        ):
            if idx.size == 0 or weight == 0:
                continue
            p = np.maximum(price[idx], 1e-9)
            r = p / max(hi, 1e-9) if ratio is None else lo / p
            amt[idx] += weight * np.clip(np.log(r / (1 + pb.tolerance)) / scale, 0, 1)
        mask = amt > 0
        if not mask.any():
            return None
        hi_txt = "no upper limit" if not np.isfinite(hi) else f"{hi:,.0f}"
        currency = catalogue.currency

        def detail(idx: np.ndarray) -> list[str]:
            return [
                f"{price[i]:,.0f} {currency[i]} is "
                f"{'above' if price[i] > hi else 'below'} the client's band of "
                f"{lo:,.0f}–{hi_txt} {currency[i]} ({origin})"
                for i in idx
            ]

        return Fired("price_band", mask, detail), np.where(mask, amt, 0.0)

    def _penalties(
        self,
        catalogue: Catalogue,
        client: Client,
        personal: bool,
        recently_shown: Iterable[str],
    ) -> tuple[list[Fired], list[np.ndarray]]:
        cfg = self.config.penalties
        hits: list[tuple[Fired, np.ndarray] | None] = []
        if cfg.price_band.enabled and personal:
            hits.append(self._price_band_penalty(catalogue, client))
        hits.append(self._climate(catalogue, client.home_store))
        if cfg.recently_shown.enabled:
            idx = _known(catalogue.dataset.product_ids, recently_shown)
            if idx.size:
                mask = np.zeros(catalogue.n_products, dtype=bool)
                mask[idx] = True
                hits.append(
                    (
                        Fired("recently_shown", mask, "shown to the client recently"),
                        np.where(mask, cfg.recently_shown.weight, 0.0),
                    )
                )
        if cfg.fit_returns.enabled and personal:
            hits.append(self._fit_returns(catalogue, client))
        found = [h for h in hits if h is not None]
        return [f for f, _ in found], [a for _, a in found]

    def _fit_returns(self, catalogue: Catalogue, client: Client) -> tuple[Fired, np.ndarray] | None:
        cfg = self.config.penalties.fit_returns
        fit = FitReturns.of(catalogue.dataset)
        cats = fit.categories(client.history)
        if not cats:
            return None
        amount = cfg.weight * np.clip(fit.rate / cfg.full_at, 0, 1) * catalogue.category_mask(cats)
        mask = amount > 0
        return (Fired("fit_returns", mask, fit.detail), amount) if mask.any() else None

    def _climate(self, catalogue: Catalogue, store_id: str) -> tuple[Fired, np.ndarray] | None:
        cfg = self.config.penalties.climate
        climate = catalogue.store_climates.get(store_id, "temperate")
        wrong = {"warm": "heavy", "cold": "light"}.get(climate)
        if not cfg.enabled or wrong is None:
            return None
        mask = catalogue.warmth_mask(wrong)
        if not mask.any():
            return None
        store = catalogue.store_names.get(store_id, store_id)
        why = f"a {wrong} piece for a {climate}-climate store ({store})"
        return Fired("climate", mask, why), mask * cfg.weight

    def store_penalty(self, dataset: Dataset, store_id: str) -> np.ndarray:
        """Client-independent penalties for a store (``climate``), one per product."""
        hit = self._climate(Catalogue.of(dataset), str(store_id))
        return np.zeros(len(dataset.product_ids)) if hit is None else hit[1]


def _total(parts: list[np.ndarray], n: int) -> np.ndarray:
    """The penalties' sum per product."""
    penalty = np.zeros(n, dtype=np.float64)
    for a in parts:
        penalty += a
    return penalty


def _bought_detail(history: ClientHistory) -> Callable[[np.ndarray], list[str]]:
    def detail(idx: np.ndarray) -> list[str]:
        when = history.last_purchase(idx)
        return [
            "bought and kept" if np.isnat(t) else f"bought on {pd.Timestamp(t):%Y-%m-%d} and kept"
            for t in when
        ]

    return detail


def _stock_detail(catalogue: Catalogue, home: str, online: tuple[str, ...]) -> str:
    # Excluded means the counted stores sum to zero, so each of them holds 0.
    parts = []
    if home and home not in online:
        parts.append(f"0 in {catalogue.store_names.get(home, home)}")
    if online:
        parts.append("0 online")
    return " and ".join(parts) or "no stock record"


def _known(pids: IdMap, ids: Iterable[str]) -> np.ndarray:
    """Internal indices of the known ids among ``ids`` (unknown ones are ignored)."""
    ids = [str(i) for i in ids]
    if not ids:
        return np.empty(0, dtype=np.int64)
    if len(ids) <= 8:  # a hash lookup per id beats building an Index for a few ids
        found = []
        for i in ids:
            try:
                loc = pids.index.get_loc(i)
            except KeyError:
                continue
            if isinstance(loc, int | np.integer):
                found.append(int(loc))
        return np.unique(np.array(found, dtype=np.int64))
    idx = pids.to_internal(ids, strict=False)
    return np.unique(idx[idx >= 0])
