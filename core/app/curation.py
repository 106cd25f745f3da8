"""Curation: suggestions and curated lists together, for one client at a time.

The dashboard's suggestions section and lists page call this service; it
combines the suggestion pipeline (:mod:`core.suggest.pipeline`), the house rules
(:mod:`core.suggest.rules`) and the list store (:mod:`core.store`):

- a draft is built from suggestions, and refreshed ("regenerate") keeping
  pinned and hand-added items in place and never re-adding a product an
  associate removed for the client;
- every list change passes the version the caller read, so two tablets
  cannot overwrite each other (:class:`~core.store.ListConflictError`);
- a list duplicated for another client is re-checked against that client's
  rules and stock: excluded products are dropped and reported;
- a share is built as a :class:`~core.app.lookbook.Lookbook` in client wording
  and stored with its snapshot (exactly what the client saw).

No Streamlit import: pages stay thin and this is testable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from core.app.lookbook import Lookbook, build_lookbook, lookbook_message
from core.data.dataset import Dataset
from core.exceptions import ConsentError, UnknownIdError
from core.store.records import CuratedListRecord, NewItem, ShareRecord
from core.suggest.rules import RuleContext, RuleSet

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

#: Columns of :meth:`CurationService.products_frame` and of the list/suggestion frames.
PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id",
    "name",
    "designer",
    "category",
    "subcategory",
    "color",
    "material",
    "price",
    "currency",
    "sensitive",
    "launch_date",
    "stock_here",
    "stock_online",
)
ITEM_COLUMNS: tuple[str, ...] = (
    *PRODUCT_COLUMNS,
    "position",
    "pinned",
    "source",
    "note",
    "reason",
)

#: Share channels the dashboard offers (a subset of the store's).
SHARE_CHANNELS: tuple[str, ...] = ("pdf", "message")
DEFAULT_HOUSE = "Atelier"
MAX_K = 40


@dataclass(frozen=True)
class SuggestParams:
    """What the associate asked for: how many and in which context.

    Parameters
    ----------
    k : int
        How many suggestions (1 to 40).
    occasion : str, optional
        A key of the policy's occasions (``"evening"``, ``"work"``, ...).
    season : str, optional
        ``"auto"``, a word (``"winter"``) or a collection code (``"FW26"``).
    categories : tuple of str
        Only these categories (empty: all).
    price_min, price_max : float, optional
    diversity : float
        0 (pure relevance) to 1 (most varied).
    """

    k: int = 12
    occasion: str | None = None
    season: str | None = None
    categories: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    diversity: float = 0.3

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise ValueError(f"k must be a whole number from 1 to {MAX_K}, got {self.k!r}")
        if not 0.0 <= float(self.diversity) <= 1.0:
            raise ValueError(f"diversity must be between 0 and 1, got {self.diversity!r}")
        lo, hi = self.price_min, self.price_max
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"price_min ({lo:g}) is above price_max ({hi:g}); swap them")
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "occasion": self.occasion,
            "season": self.season,
            "categories": list(self.categories),
            "price_min": self.price_min,
            "price_max": self.price_max,
            "diversity": self.diversity,
        }


@dataclass(frozen=True)
class Suggestions:
    """Suggestions ready to show: one row per product, best first.

    ``items`` has :data:`PRODUCT_COLUMNS` plus ``rank``, ``score``,
    ``reason`` (associate wording, one line), ``reasons`` (list of associate
    reasons), ``client_reason`` and ``source_kind`` (what produced it:
    ``"model"``, ``"new_arrival"``, ``"bestseller"``, ...).
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


@dataclass(frozen=True)
class ShareOutcome:
    """A recorded share: the store record, the lookbook and its message text."""

    share: ShareRecord
    lookbook: Lookbook
    message: str


def _as_bool(value: Any) -> bool:
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return bool(value)


class CurationService:
    """Suggestions and curated lists for the dashboard.

    Parameters
    ----------
    dataset : Dataset
    model : Recommender
        The fitted hybrid model (shared; never mutated here).
    store : core.store.Store or object with ``lists``, ``shares``, ``consent``
    rules : RuleSet, optional
        The house policy (default: the shipped one).
    """

    def __init__(
        self,
        dataset: Dataset,
        model: Any,
        store: Any,
        rules: RuleSet | None = None,
        *,
        holdout_share: float = 0.0,
    ) -> None:
        self.dataset = dataset
        self.model = model
        self.store = store
        self.rules = rules if rules is not None else _default_rules(dataset)
        self.holdout_share = holdout_share

    # ------------------------------------------------------------ products
    @property
    def lists(self) -> Any:
        return self.store.lists

    def client(self, client_id: str) -> pd.Series:
        """The client's row (``UnknownIdError`` for an unknown id)."""
        return self.dataset.client(client_id)

    def home_store(self, client_id: str) -> str:
        value = self.client(client_id).get("home_store_id")
        return "" if value is None or pd.isna(value) else str(value)

    def store_name(self, store_id: str) -> str:
        return RuleContext.of(self.dataset).store_names.get(store_id, store_id)

    def products_frame(
        self, product_ids: Sequence[str], client_id: str | None = None
    ) -> pd.DataFrame:
        """Catalogue rows for ``product_ids`` in that order, with stock where the client shops.

        Unknown ids are left out. ``stock_here`` counts the client's home
        store, ``stock_online`` the online stores (0 without a client).
        """
        ids = [str(p) for p in product_ids]
        idx = self.dataset.product_ids.to_internal(ids, strict=False)
        idx = idx[idx >= 0]
        p = self.dataset.products.iloc[idx]
        out = pd.DataFrame(
            {c: p[c].to_numpy() if c in p.columns else None for c in PRODUCT_COLUMNS[:-2]}
        )
        ctx = RuleContext.of(self.dataset)
        if client_id is not None and len(idx):
            home = self.home_store(client_id)
            out["stock_here"] = ctx.quantity([home] if home else [])[idx]
            out["stock_online"] = ctx.quantity(ctx.online_stores)[idx]
        else:
            out["stock_here"] = np.zeros(len(idx), dtype=np.int64)
            out["stock_online"] = np.zeros(len(idx), dtype=np.int64)
        out["sensitive"] = out["sensitive"].map(_as_bool) if len(out) else out["sensitive"]
        return out.reset_index(drop=True)

    def search_products(self, query: str, limit: int = 50) -> pd.DataFrame:
        """Catalogue products whose name, designer, category or id contain every word of ``query``."""
        words = [w for w in str(query or "").lower().split() if w]
        text = RuleContext.of(self.dataset).product_text
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
    def removed(self, client_id: str) -> tuple[set[str], set[str]]:
        """(removed product ids, removed categories) for a client."""
        return self.lists.removed_products(client_id), self.lists.removed_categories(client_id)

    # ---------------------------------------------------------- suggestions
    @property
    def suggester(self) -> Any:
        """The pipeline for this dataset, model and rules (kept with the dataset, built once)."""
        from core.suggest.pipeline import Suggester

        # One slot per dataset: a retrain replaces the suggester instead of adding one.
        slot: dict[str, Any] = self.dataset.derived((CurationService, "suggester"), dict)
        found = slot.get("last")
        if (
            found is not None
            and found[0] is self.model
            and found[1] is self.rules
            and found[2].holdout_share == self.holdout_share
        ):
            return found[2]
        suggester = Suggester(
            self.model, self.dataset, self.rules, holdout_share=self.holdout_share
        )
        slot["last"] = (self.model, self.rules, suggester)
        return suggester

    def suggestions(
        self,
        client_id: str,
        params: SuggestParams,
        *,
        personalised: bool,
        pinned: Sequence[str] = (),
    ) -> Suggestions:
        """Suggestions for a client, never a removed product or category.

        Without personalisation consent the result is generic (new arrivals,
        store bestsellers), labelled so, and reads none of the client's history.
        ``pinned`` products (already in the list) come first and count for
        diversity; a pinned product that was removed before is left out.
        """
        removed_products, removed_categories = self.removed(client_id)
        result = self.suggester.suggest(
            client_id,
            params.k,
            removed_products=sorted(removed_products),
            removed_categories=sorted(removed_categories),
            pinned=[p for p in pinned if p not in removed_products],
            consent_override=personalised,
            **self._options(params),
        )
        return self._to_suggestions(result, client_id)

    @staticmethod
    def _options(params: SuggestParams) -> dict[str, Any]:
        return {
            "occasion": params.occasion,
            "season": params.season,
            "categories": list(params.categories) or None,
            "price_min": params.price_min,
            "price_max": params.price_max,
            "diversity": float(params.diversity),
        }

    def _to_suggestions(self, result: Any, client_id: str) -> Suggestions:
        items = result.items.reset_index(drop=True)
        info = self.products_frame(list(items["product_id"]), client_id).set_index("product_id")
        out = info.reindex(items["product_id"]).reset_index()
        for col in ("stock_here", "stock_online", "rank", "score", "pinned"):
            if col in items.columns:
                out[col] = items[col].to_numpy()
        out["reasons"] = _column(items, "reasons_associate", [])
        out["reason"] = _column(items, "associate_reason", "")
        out["client_reasons"] = _column(items, "reasons_client", [])
        out["client_reason"] = [r[0] if r else "" for r in out["client_reasons"]]
        out["source_kind"] = _column(items, "source", "model")
        return Suggestions(
            items=out,
            generic=bool(result.generic),
            banner=result.banner,
            exclusions=result.exclusions,
        )

    def why_not(
        self, client_id: str, product_id: str, params: SuggestParams, *, personalised: bool
    ) -> str:
        """One sentence: the rule that excludes ``product_id`` for the client, or its rank."""
        removed_products, removed_categories = self.removed(client_id)
        return str(
            self.suggester.why_not(
                client_id,
                product_id,
                params.k,
                removed_products=sorted(removed_products),
                removed_categories=sorted(removed_categories),
                consent_override=personalised,
                **self._options(params),
            )
        )

    def complete_the_look(
        self, client_id: str, anchor_id: str, k: int = 6, *, personalised: bool
    ) -> pd.DataFrame:
        """Complementary products for ``anchor_id`` within the client's rules (with product data)."""
        removed_products, removed_categories = self.removed(client_id)
        found = self.suggester.complete_the_look(
            client_id,
            anchor_id,
            k,
            removed_products=removed_products,
            removed_categories=removed_categories,
            consent_override=personalised,
        )
        return self._with_info(found, client_id)

    def gift_ideas(self, client_id: str, recipient: Any, k: int = 12) -> pd.DataFrame:
        """Gift ideas for a described recipient (``core.suggest.rerank.GiftRecipient``).

        The buyer's own taste is not read; stock counts at the client's home store and online.
        """
        home = self.home_store(client_id)
        found = self.suggester.gift(recipient, k, store_id=home or None)
        return self._with_info(found, client_id)

    def _with_info(self, found: pd.DataFrame, client_id: str) -> pd.DataFrame:
        info = self.products_frame(list(found["product_id"]), client_id)
        out = info.merge(found[["product_id", "reason"]], on="product_id", how="left")
        out["reasons"] = [[r] if isinstance(r, str) and r else [] for r in out["reason"]]
        return out

    # ---------------------------------------------------------------- lists
    def draft_for(self, client_id: str) -> CuratedListRecord | None:
        """The client's most recently edited draft (by anyone), if any."""
        return self.lists.get_draft_for_client(client_id)

    def open_list_for(self, client_id: str) -> CuratedListRecord | None:
        """The list the client page edits: the latest draft, else the latest shared list."""
        draft = self.draft_for(client_id)
        if draft is not None:
            return draft
        lists = self.lists.lists_for_client(client_id)
        return lists[0] if lists else None

    def create_draft(
        self,
        client_id: str,
        author_id: str,
        suggestions: pd.DataFrame,
        *,
        title: str | None = None,
    ) -> CuratedListRecord:
        """Save suggestions (in their order) as a new draft list for the client."""
        name = title or self._default_title(client_id)
        return self.lists.create_list(
            client_id, author_id, name, items=_new_items(suggestions, source="model")
        )

    def _default_title(self, client_id: str) -> str:
        row = self.client(client_id)
        first = str(row.get("first_name") or "").strip()
        last = str(row.get("last_name") or "").strip()
        who = (f"{first} {last}".strip() or client_id)[:120]
        return f"Selection for {who} · {date.today():%d %b %Y}"

    def regenerate(
        self,
        record: CuratedListRecord,
        author_id: str,
        params: SuggestParams,
        *,
        personalised: bool,
    ) -> CuratedListRecord:
        """Refresh the model's part of a list: pinned and hand-added items stay put.

        Products ever removed for the client are never re-added (the store
        and the suggestion pipeline both skip them). Raises
        :class:`~core.store.ListConflictError` if the list changed since
        ``record`` was read.
        """
        kept = [i.product_id for i in record.items if i.pinned or i.source == "manual"]
        found = self.suggestions(record.client_id, params, personalised=personalised, pinned=kept)
        fresh = found.items[~found.items["product_id"].isin(kept)]
        return self.lists.replace_unpinned(
            record.list_id,
            _new_items(fresh, source="model"),
            expected_version=record.version,
            actor_id=author_id,
            size=max(params.k, len(kept)),
        )

    def add_product(
        self,
        record: CuratedListRecord,
        product_id: str,
        author_id: str,
        *,
        reason: str = "",
        note: str = "",
    ) -> CuratedListRecord:
        """Add a catalogue product by hand (it passes overridable rules such as sensitive)."""
        self.dataset.product_ids.to_internal_one(product_id)  # UnknownIdError early
        return self.lists.add_item(
            record.list_id,
            product_id,
            expected_version=record.version,
            actor_id=author_id,
            source="manual",
            reason=reason or "Added by hand",
            note=note,
        )

    def remove(
        self,
        record: CuratedListRecord,
        product_id: str,
        reason: str,
        author_id: str,
        *,
        whole_category: bool = False,
    ) -> CuratedListRecord:
        """Remove an item with the associate's reason (recorded; never suggested again).

        With ``whole_category`` the product's category is recorded too, so the
        engine stops suggesting that category for the client.
        """
        category = None
        if whole_category:
            category = str(self.dataset.product(product_id)["category"])
        return self.lists.remove_item(
            record.list_id,
            product_id,
            reason,
            author_id,
            expected_version=record.version,
            category=category,
        )

    def set_pinned(
        self, record: CuratedListRecord, product_id: str, pinned: bool, author_id: str
    ) -> CuratedListRecord:
        """Pin (kept in place by :meth:`regenerate`) or unpin an item."""
        method = self.lists.pin if pinned else self.lists.unpin
        return method(  # type: ignore[no-any-return]
            record.list_id, product_id, expected_version=record.version, actor_id=author_id
        )

    def set_note(
        self, record: CuratedListRecord, product_id: str | None, note: str, author_id: str
    ) -> CuratedListRecord:
        """Set an item's internal note, or the list's (``product_id=None``); never client-facing."""
        if product_id is None:
            return self.lists.set_list_note(  # type: ignore[no-any-return]
                record.list_id, note, expected_version=record.version, actor_id=author_id
            )
        return self.lists.set_item_note(  # type: ignore[no-any-return]
            record.list_id, product_id, note, expected_version=record.version, actor_id=author_id
        )

    def archive(self, record: CuratedListRecord, author_id: str) -> CuratedListRecord:
        """Archive a list (read-only afterwards)."""
        return self.lists.archive(  # type: ignore[no-any-return]
            record.list_id, expected_version=record.version, actor_id=author_id
        )

    def move(
        self, record: CuratedListRecord, product_id: str, step: int, author_id: str
    ) -> CuratedListRecord:
        """Move an item up (``step < 0``) or down (``step > 0``) by ``|step|`` places."""
        order = record.product_ids
        if product_id not in order:
            raise ValueError(f"product {product_id!r} is not in list {record.list_id}")
        i = order.index(product_id)
        j = min(max(i + step, 0), len(order) - 1)
        if i == j:
            return record
        order.insert(j, order.pop(i))
        return self.lists.reorder(
            record.list_id, order, expected_version=record.version, actor_id=author_id
        )

    def items_frame(self, record: CuratedListRecord) -> pd.DataFrame:
        """A list's items with catalogue data and stock, in display order (:data:`ITEM_COLUMNS`)."""
        info = self.products_frame(record.product_ids, record.client_id).set_index("product_id")
        rows = []
        for item in record.items:
            if item.product_id not in info.index:
                continue  # a product no longer in the catalogue
            row = info.loc[item.product_id].to_dict()
            row.update(
                product_id=item.product_id,
                position=item.position,
                pinned=item.pinned,
                source=item.source,
                note=item.note,
                reason=item.reason,
            )
            rows.append(row)
        return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))

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
        """Copy a list for another client, dropping what that client's rules exclude."""
        self.client(new_client_id)  # UnknownIdError early
        source = self.lists.get_list(list_id)
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
        row = self.client(client_id)
        return bool(
            self.store.consent.effective_consent(
                client_id, "consent_contact", _as_bool(row.get("consent_contact"))
            )
        )

    def personalisation_allowed(self, client_id: str) -> bool:
        row = self.client(client_id)
        return bool(
            self.store.consent.effective_consent(
                client_id, "consent_personalization", _as_bool(row.get("consent_personalization"))
            )
        )

    def record_consent(
        self, client_id: str, consent_field: str, actor_id: str, note: str = ""
    ) -> Any:
        """Record that the client gave a consent (audited by the consent service)."""
        row = self.client(client_id)
        return self.store.consent.record_consent_change(
            client_id,
            consent_field,
            True,
            actor_id,
            note,
            old_value=bool(
                self.store.consent.effective_consent(
                    client_id, consent_field, _as_bool(row.get(consent_field))
                )
            ),
        )

    def contact_warning(self, client_id: str) -> str | None:
        """A sentence when the client was contacted recently (cool-down policy), else ``None``."""
        return self.store.shares.contact_warning(client_id)

    def client_wording(self, record: CuratedListRecord, *, personalised: bool) -> dict[str, str]:
        """Client-facing reason per product of the list (never a score or a hidden signal)."""
        from core.suggest.reasons import CLIENT_FALLBACK, client_reasons

        out: dict[str, str] = {}
        row = self.client(record.client_id)
        for item in record.items:
            text = CLIENT_FALLBACK
            if personalised and item.product_id in self.dataset.product_ids:
                try:
                    expl = self.model.explain(record.client_id, item.product_id)
                    reasons = client_reasons(expl, self.dataset, row, n=1)
                    text = reasons[0] if reasons else CLIENT_FALLBACK
                except (UnknownIdError, ValueError):
                    text = CLIENT_FALLBACK
            out[item.product_id] = text
        return out

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
        items = self.items_frame(record)
        wording = self.client_wording(record, personalised=personalised)
        items["client_reason"] = [wording.get(p, "") for p in items["product_id"]]
        items = items.drop(columns=["note", "reason"])
        house = house_name or self._house(record.client_id)
        return build_lookbook(
            self.client(record.client_id), items, associate_name, house, message=message
        )

    def _house(self, client_id: str) -> str:
        home = self.home_store(client_id)
        name = self.store_name(home) if home else ""
        return f"{DEFAULT_HOUSE} · {name}" if name else DEFAULT_HOUSE

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
        """
        if channel not in SHARE_CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(SHARE_CHANNELS)}; got {channel!r}")
        consent = self.contact_allowed(record.client_id)
        if not consent:
            raise ConsentError(
                "This client has not agreed to be contacted: record their consent before sharing."
            )
        message = lookbook_message(lookbook)
        snapshot = {**lookbook.to_snapshot(), "message_text": message, "channel": channel}
        share = self.store.shares.record_share(
            record.list_id,
            channel,
            snapshot,
            author_id,
            consent_contact=consent,
            expected_version=record.version,
        )
        return ShareOutcome(share, lookbook, message)

    # ------------------------------------------------------------ lists page
    def all_lists(self, *, include_archived: bool = True) -> list[CuratedListRecord]:
        """Every list, most recently changed first (for the lists page)."""
        lists = self.lists
        finder = getattr(lists, "all_lists", None)
        if callable(finder):
            return list(finder(include_archived=include_archived))
        from sqlalchemy import select

        from core.store.common import unit_of_work
        from core.store.list_ops import snapshot
        from core.store.models import CuratedList

        stmt = select(CuratedList).order_by(CuratedList.updated_at.desc(), CuratedList.id.desc())
        if not include_archived:
            stmt = stmt.where(CuratedList.status != "archived")
        with unit_of_work(lists._sessions) as session:
            return [snapshot(session, row) for row in session.scalars(stmt)]

    def lists_frame(self, records: Iterable[CuratedListRecord]) -> pd.DataFrame:
        """One row per list: id, client, client name, title, author, status, items, last change."""
        clients = self.dataset.clients.set_index("client_id")
        rows = []
        for r in records:
            if r.client_id in clients.index:
                c = clients.loc[r.client_id]
                name = f"{c.get('first_name') or ''} {c.get('last_name') or ''}".strip()
            else:
                name = "(client no longer in the data)"
            rows.append(
                {
                    "list_id": r.list_id,
                    "client_id": r.client_id,
                    "client_name": name or r.client_id,
                    "title": r.title,
                    "author_id": r.author_id,
                    "author": r.author_name,
                    "status": r.status,
                    "items": len(r.items),
                    "version": r.version,
                    "updated_at": r.updated_at,
                    "updated_by": r.updated_by_name,
                }
            )
        cols = ["list_id", "client_id", "client_name", "title", "author_id", "author",
                "status", "items", "version", "updated_at", "updated_by"]  # fmt: skip
        return pd.DataFrame(rows, columns=cols)


def _default_rules(dataset: Dataset) -> RuleSet:
    """The shipped policy, read once per dataset (kept in the dataset's cache)."""
    return dataset.derived((RuleSet, "default"), RuleSet.default)


def filter_lists(
    frame: pd.DataFrame,
    *,
    query: str = "",
    statuses: Iterable[str] = (),
    author_id: str | None = None,
) -> pd.DataFrame:
    """Lists whose client name, title or author contain every word of ``query``.

    ``statuses`` keeps only those statuses (empty: all); ``author_id`` only that author's.
    """
    out = frame
    wanted = [s for s in statuses]
    if wanted:
        out = out[out["status"].isin(wanted)]
    if author_id:
        out = out[out["author_id"] == author_id]
    words = [w for w in str(query or "").casefold().split() if w]
    if words and len(out):
        hay = (
            out["client_name"].astype(str)
            + " "
            + out["title"].astype(str)
            + " "
            + out["author"].astype(str)
            + " "
            + out["client_id"].astype(str)
        ).str.casefold()
        mask = np.ones(len(out), dtype=bool)
        for w in words:
            mask &= hay.str.contains(w, regex=False).to_numpy()
        out = out[mask]
    return out.reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str, default: Any) -> list[Any]:
    if name in frame.columns:
        values = frame[name].tolist()
        if isinstance(default, list):
            return [
                list(v)
                if isinstance(v, list | tuple | np.ndarray)
                else ([v] if isinstance(v, str) and v else [])
                for v in values
            ]
        return values
    return [list(default) if isinstance(default, list) else default for _ in range(len(frame))]


def _new_items(frame: pd.DataFrame, *, source: str) -> list[NewItem]:
    items = []
    for row in frame.to_dict("records"):
        score = row.get("score")
        try:
            score = float(score) if score is not None and np.isfinite(float(score)) else None
        except (TypeError, ValueError):
            score = None
        reason = str(row.get("reason") or "")[:1000]
        items.append(NewItem(str(row["product_id"]), reason=reason, score=score, source=source))
    return items
