"""Curation: suggestions and curated lists together, for one client at a time.

The dashboard's suggestions section and lists page call this service; it
combines the suggestion pipeline (:mod:`core.suggest.pipeline`), the house rules
(:mod:`core.suggest.rules`) and the list store (:mod:`core.store`):

- suggestions come from the pipeline as the pages show them (product data and
  stock included), never a product or category removed for the client;
- a draft is built from suggestions, and refreshed ("regenerate") keeping
  pinned and hand-added items in place and never re-adding a product an
  associate removed for the client;
- every list change passes the version the caller read, so two tablets
  cannot overwrite each other (:class:`~core.store.ListConflictError`);
- a list duplicated for another client is re-checked against that client's
  rules and stock: excluded products are dropped and reported;
- a share is built as a :class:`~core.app.lookbook.Lookbook` in client wording
  and stored with its snapshot (exactly what the client saw; :mod:`core.app.sharing`);
- every read of a list by id and every write takes the acting user's id and is
  checked against the access policy (:mod:`core.app.access`, applied by
  :class:`~core.app.guard.AccessGuard`): a refusal raises
  :class:`~core.exceptions.AccessDeniedError` and writes nothing.

No Streamlit import: pages stay thin and this is testable on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.app.guard import AccessGuard
from core.app.list_curation import ListCuration, new_items
from core.app.list_views import items_frame
from core.app.lookbook import Lookbook, build_lookbook
from core.app.sharing import (
    ShareOutcome,
    client_wording,
    consent_in_force,
    house_signature,
    record_consent_given,
    record_share,
)
from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.models.base import Recommender
from core.store import Store
from core.store.records import ConsentChangeRecord, CuratedListRecord
from core.suggest.catalogue import Catalogue
from core.suggest.pipeline import Suggester
from core.suggest.request import SuggestRequest
from core.suggest.rerank.gift import GiftRecipient
from core.suggest.results import product_frame
from core.suggest.rules import RuleSet
from core.suggest.sizes import client_sizes

#: Reasons an associate picks from when removing a suggestion (plus free text).
REMOVAL_REASONS: tuple[str, ...] = (
    "Not the client's style",
    "Already owns something similar",
    "Price not right",
    "Wrong size or fit",
    "Not for this season",
    "The client said no",
    "Other",
)
#: Most suggestions the pages ask for at once.
MAX_K = 40


@dataclass(frozen=True)
class Suggestions:
    """Suggestions ready to show: one row per product, best first.

    ``items`` has the columns of :data:`core.suggest.results.SUGGESTION_COLUMNS`:
    product data and stock, ``rank``, the scores, ``reason``/``reasons``
    (associate wording), ``client_reason``/``client_reasons`` and ``source``
    (``"model"`` or ``"generic"``).
    """

    items: pd.DataFrame
    generic: bool
    banner: str | None = None
    exclusions: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class DuplicateResult:
    """A list copied for another client and what the re-check dropped.

    ``dropped`` has columns ``product_id``, ``name``, ``rule``, ``detail``.
    """

    record: CuratedListRecord
    dropped: pd.DataFrame


class CurationService(ListCuration):
    """Suggestions and curated lists for the dashboard.

    Access: methods that read a list by id, and every method that writes, take
    the acting user's id and check it against :data:`core.app.access.POLICY`
    (refusing with :class:`~core.exceptions.AccessDeniedError`, nothing written).
    Methods that take a :class:`~core.store.records.CuratedListRecord` check the
    list as stored (its author and client), not the record handed in. Records
    come only from the checked methods, so the pages never hold a list the
    policy hides. :attr:`lists` is the store's unchecked service (tests, the CLI).

    Parameters
    ----------
    dataset : Dataset
    model : Recommender
        The fitted hybrid model (shared; never mutated here).
    store : core.store.Store or object with ``lists``, ``shares``, ``consent``
    rules : RuleSet, optional
        The house policy (default: the shipped one).
    holdout_share : float
        Share of clients in the holdout group (generic suggestions only).
    client_events : callable, optional
        A client's events read per request, for a dataset that holds none
        (:meth:`core.app.serving.Served.events`); they count as the request's
        ``extra_events``.
    """

    def __init__(
        self,
        dataset: Dataset,
        model: Recommender,
        store: Store,
        rules: RuleSet | None = None,
        *,
        holdout_share: float = 0.0,
        client_events: Callable[[str], pd.DataFrame] | None = None,
    ) -> None:
        self.client_events = client_events
        self.dataset = dataset
        self.model = model
        self.store = store
        self.rules = rules if rules is not None else RuleSet.default_for(dataset)
        self.holdout_share = holdout_share
        self.guard = AccessGuard(dataset, store)

    def home_store(self, client_id: str) -> str:
        """The client's home store id ('' when not recorded; ``UnknownIdError``)."""
        return Catalogue.of(self.dataset).client(client_id).home_store

    def store_name(self, store_id: str) -> str:
        return Catalogue.of(self.dataset).store_names.get(store_id, store_id)

    def products_frame(
        self, product_ids: Sequence[str], client_id: str | None = None
    ) -> pd.DataFrame:
        """Catalogue rows for ``product_ids`` in that order, with stock where the client shops.

        Unknown ids are left out. ``stock_here`` counts the client's home
        store, ``stock_online`` the online stores (0 without a client),
        ``size_stock`` the same in the client's size.
        Columns :data:`core.suggest.results.PRODUCT_COLUMNS`.
        """
        idx = self.dataset.product_ids.to_internal([str(p) for p in product_ids], strict=False)
        idx = idx[idx >= 0]
        if client_id is None or not len(idx):
            return product_frame(self.dataset, idx, None)
        client = Catalogue.of(self.dataset).client(client_id)
        return product_frame(self.dataset, idx, client.home_store, client_sizes(client.row))

    def search_products(self, query: str, limit: int = 50) -> pd.DataFrame:
        """Catalogue products whose name, designer, category or id contain every word of ``query``."""
        words = [w for w in str(query or "").lower().split() if w]
        text = Catalogue.of(self.dataset).product_text
        mask = np.ones(len(text), dtype=bool)
        for w in words:
            mask &= text.str.contains(w, regex=False).to_numpy()
        ids = self.dataset.product_ids.external_ids[np.flatnonzero(mask)[:limit]]
        return self.products_frame(list(ids))

    @property
    def product_labels(self) -> dict[str, str]:
        """``product_id -> "Name — Designer (category)"`` for select boxes (built once per dataset)."""
        return self.dataset.derived((CurationService, "product_labels"), self._build_labels)

    def _build_labels(self) -> dict[str, str]:
        p = self.dataset.products
        designer = p["designer"].fillna("").astype(str)
        by = designer.map(lambda d: f" — {d}" if d else "")
        text = p["name"].astype(str) + by + " (" + p["category"].astype(str) + ")"
        return dict(zip(p["product_id"].astype(str), text, strict=True))

    def product_label(self, product_id: str) -> str:
        """``"Name — Designer (category)"`` of a product (its id if unknown)."""
        return self.product_labels.get(str(product_id), str(product_id))

    # ------------------------------------------------------------- removals
    def _client_events(self, client_id: str) -> pd.DataFrame | None:
        """The client's events read now, for a dataset served without them (else ``None``)."""
        return None if self.client_events is None else self.client_events(client_id)

    def removed(self, client_id: str) -> tuple[set[str], set[str]]:
        """(removed product ids, removed categories) for a client."""
        return self.lists.removed_products(client_id), self.lists.removed_categories(client_id)

    # ---------------------------------------------------------- suggestions
    @property
    def suggester(self) -> Suggester:
        """The pipeline for this dataset, model and rules (kept with the dataset, built once)."""
        # One slot per dataset: a retrain replaces the suggester instead of adding one.
        slot: dict[str, Any] = self.dataset.derived((CurationService, "suggester"), dict)
        found = slot.get("last")
        if (
            found is not None
            and found[0] is self.model
            and found[1] is self.rules
            and found[2].holdout_share == self.holdout_share
        ):
            return found[2]  # type: ignore[no-any-return]
        suggester = Suggester(
            self.model, self.dataset, self.rules, holdout_share=self.holdout_share
        )
        slot["last"] = (self.model, self.rules, suggester)
        return suggester

    def _request(
        self,
        client_id: str,
        request: SuggestRequest,
        *,
        personalised: bool,
        pinned: Sequence[str] = (),
    ) -> SuggestRequest:
        """The page's request completed with the client's removals, pins and consent."""
        if request.k > MAX_K:
            raise ValueError(f"k must be a whole number from 1 to {MAX_K}, got {request.k!r}")
        removed_products, removed_categories = self.removed(client_id)
        if self.client_events is not None:  # the dataset holds no event: read theirs now
            request = request.replace(extra_events=self._client_events(client_id))
        return request.replace(
            removed_products=sorted(removed_products),
            removed_categories=sorted(removed_categories),
            pinned=[p for p in pinned if p not in removed_products],
            consent_override=personalised,
        )

    def suggestions(
        self,
        client_id: str,
        request: SuggestRequest,
        *,
        personalised: bool,
        pinned: Sequence[str] = (),
    ) -> Suggestions:
        """Suggestions for a client, never a removed product or category.

        Without personalisation consent the result is generic (new arrivals,
        store bestsellers), labelled so, and reads none of the client's history.
        ``pinned`` products (already in the list) come first and count for
        diversity; a pinned product that was removed before is left out.

        Raises
        ------
        ValueError
            For ``request.k`` above :data:`MAX_K`, or a bad request.
        """
        full = self._request(client_id, request, personalised=personalised, pinned=pinned)
        result = self.suggester.suggest(client_id, full)
        return Suggestions(
            items=result.items,
            generic=result.generic,
            banner=result.banner,
            exclusions=result.exclusions,
        )

    def why_not(
        self, client_id: str, product_id: str, request: SuggestRequest, *, personalised: bool
    ) -> str:
        """One sentence: the rule that excludes ``product_id`` for the client, or its rank."""
        full = self._request(client_id, request, personalised=personalised)
        return self.suggester.why_not(client_id, product_id, full)

    def complete_the_look(
        self, client_id: str, anchor_id: str, k: int = 6, *, personalised: bool
    ) -> pd.DataFrame:
        """Complementary products for ``anchor_id`` within the client's rules (with product data)."""
        return self.suggester.complete_the_look(
            client_id, anchor_id, k, **self._anchor_options(client_id, personalised)
        )

    def similar(
        self, client_id: str, anchor_id: str, k: int = 6, *, personalised: bool
    ) -> pd.DataFrame:
        """Pieces like ``anchor_id`` in its category within the client's rules (with product data)."""
        return self.suggester.similar(
            client_id, anchor_id, k, **self._anchor_options(client_id, personalised)
        )

    def _anchor_options(self, client_id: str, personalised: bool) -> dict[str, Any]:
        """What an anchor's ideas read of the client: removals, consent, events when served."""
        removed_products, removed_categories = self.removed(client_id)
        return {
            "removed_products": sorted(removed_products),
            "removed_categories": sorted(removed_categories),
            "consent_override": personalised,
            "extra_events": self._client_events(client_id),
        }

    def gift_ideas(self, client_id: str, recipient: GiftRecipient, k: int = 12) -> pd.DataFrame:
        """Gift ideas for a described recipient (``core.suggest.rerank.gift.GiftRecipient``).

        The buyer's own taste is not read; stock counts at the client's home store and online.
        """
        home = self.home_store(client_id)
        return self.suggester.gift(recipient, k, store_id=home or None)

    def regenerate(
        self,
        record: CuratedListRecord,
        author_id: str,
        request: SuggestRequest,
        *,
        personalised: bool,
    ) -> CuratedListRecord:
        """Refresh the model's part of a list: pinned and hand-added items stay put.

        Products ever removed for the client are never re-added (the store
        and the suggestion pipeline both skip them). Raises
        :class:`~core.store.ListConflictError` if the list changed since
        ``record`` was read.
        """
        client_id = self._editable(record, author_id).client_id
        kept = [i.product_id for i in record.items if i.pinned or i.source == "manual"]
        found = self.suggestions(client_id, request, personalised=personalised, pinned=kept)
        fresh = found.items[~found.items[COLS.product_id].isin(kept)]
        return self.lists.replace_unpinned(
            record.list_id,
            new_items(fresh, source="model"),
            expected_version=record.version,
            actor_id=author_id,
            size=max(request.k, len(kept)),
        )

    # ------------------------------------------------------------ duplicate
    def recheck(self, product_ids: Sequence[str], client_id: str) -> pd.DataFrame:
        """Products of ``product_ids`` that ``client_id``'s rules exclude, with the rule.

        Columns ``product_id``, ``name``, ``rule``, ``detail`` (first rule only).
        """
        removed_products, removed_categories = self.removed(client_id)
        result = self.rules.apply(
            self.dataset,
            client_id,
            removed_products=removed_products,
            removed_categories=removed_categories,
        )
        rows = []
        for pid in product_ids:
            if pid not in self.dataset.product_ids:
                rows.append((pid, pid, "unknown_product", "no longer in the catalogue"))
                continue
            hits = result.excluded_by(pid)
            if hits:
                rule, detail = hits[0]
                rows.append((pid, str(self.dataset.product(pid)["name"]), rule, detail))
        return pd.DataFrame(rows, columns=["product_id", "name", "rule", "detail"])

    def duplicate(
        self,
        list_id: int,
        new_client_id: str,
        author_id: str,
        *,
        title: str | None = None,
    ) -> DuplicateResult:
        """Copy a list for another client, dropping what that client's rules exclude.

        Raises
        ------
        AccessDeniedError
            ``author_id`` may not copy this list or start one for ``new_client_id``.
        """
        source = self.guard.check_list(author_id, "duplicate_list", list_id)
        self.guard.check_client(author_id, "create_list", new_client_id)
        dropped = self.recheck(source.product_ids, new_client_id)
        drop = set(dropped["product_id"])
        record = self.lists.duplicate_for_client(
            list_id,
            new_client_id,
            author_id,
            keep=lambda pid: pid not in drop,
            title=title or self._default_title(new_client_id),
        )
        return DuplicateResult(record, dropped)

    # ----------------------------------------------------------------- share
    def contact_allowed(self, client_id: str) -> bool:
        """The client's contact consent in force (a recorded change overrides the data)."""
        return consent_in_force(self.store, client_id, "consent_contact", self.client(client_id))

    def personalisation_allowed(self, client_id: str) -> bool:
        """The client's personalisation consent in force."""
        row = self.client(client_id)
        return consent_in_force(self.store, client_id, "consent_personalization", row)

    def record_consent(
        self, client_id: str, consent_field: str, actor_id: str, note: str = ""
    ) -> ConsentChangeRecord:
        """Record that the client gave a consent (audited by the consent service)."""
        self.guard.check_client(actor_id, "record_consent", client_id)
        row = self.client(client_id)
        return record_consent_given(self.store, client_id, consent_field, row, actor_id, note)

    def contact_warning(self, client_id: str) -> str | None:
        """A sentence when the client was contacted recently (cool-down policy), else ``None``."""
        return self.store.shares.contact_warning(client_id)

    def client_wording(self, record: CuratedListRecord, *, personalised: bool) -> dict[str, str]:
        """Client-facing reason per product of the list (never a score or a hidden signal)."""
        row = self.client(record.client_id)
        return client_wording(
            self.model,
            self.dataset,
            record,
            row,
            personalised=personalised,
            extra_events=self._client_events(record.client_id),
        )

    def lookbook(
        self,
        record: CuratedListRecord,
        associate_name: str,
        *,
        personalised: bool,
        message: str = "",
        house_name: str | None = None,
    ) -> Lookbook:
        """The client-facing lookbook of a list (client wording; no scores or notes)."""
        client = Catalogue.of(self.dataset).client(record.client_id)
        items = items_frame(self.dataset, record)
        wording = client_wording(
            self.model,
            self.dataset,
            record,
            client.row,
            personalised=personalised,
            extra_events=self._client_events(record.client_id),
        )
        items[COLS.client_reason] = [wording.get(p, "") for p in items[COLS.product_id]]
        items = items.drop(columns=[COLS.note, COLS.reason])
        house = house_name or house_signature(self.dataset, client.home_store)
        return build_lookbook(client.row, items, associate_name, house, message=message)

    def share(
        self,
        record: CuratedListRecord,
        lookbook: Lookbook,
        channel: str,
        author_id: str,
    ) -> ShareOutcome:
        """Record a share with its snapshot, mark the list shared and audit it.

        Raises
        ------
        ConsentError
            The client has not consented to be contacted.
        ListConflictError
            The list changed since ``record`` was read.
        AccessDeniedError
            ``author_id`` may not share this list.
        """
        client_id = self.guard.check_list(author_id, "share_list", record.list_id).client_id
        consent = self.contact_allowed(client_id)
        return record_share(self.store, record, lookbook, channel, author_id, consent=consent)
