"""What the house rules say about every product for one client: :class:`RuleResult`.

:meth:`core.suggest.rules.RuleSet.apply` builds one; it carries the allowed
mask and the penalty per product, and answers "why not?" from the rules that
fired (each with the words that explain it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from core.data.ids import IdMap
from core.suggest.catalogue import Client

Detail = str | Callable[[np.ndarray], Sequence[str]]


@dataclass(frozen=True)
class Fired:
    """One rule that fired: the products it hit and the words that explain it."""

    rule: str
    mask: np.ndarray
    detail: Detail


def details(detail: Detail, idx: np.ndarray) -> list[str]:
    """The detail of each product in ``idx`` (one sentence, or one per product)."""
    if isinstance(detail, str):
        return [detail] * len(idx)
    return [str(d) for d in detail(idx)]


@dataclass(frozen=True, eq=False)
class RuleResult:
    """What the rules say about every product for one client.

    Attributes
    ----------
    client_id : str
    allowed : ndarray of bool, shape (n_products,)
        ``False`` where a hard rule excludes the product (dataset.product_ids order).
    penalty : ndarray of float, shape (n_products,)
        Sum of the soft penalties, ``>= 0``; subtracted from the [0, 1]-scaled
        relevance by the pipeline (see the module docstring).
    personalized : bool
        ``False`` when the client has not consented to personalisation (and
        the ``no_consent`` rule is enabled): the caller must not use their history.
    note : str or None
        A sentence about the whole result (e.g. no consent).
    client : Client or None
        The client the rules read (row, home store), looked up once; ``None``
        for a store-level result.
    """

    client_id: str
    product_ids: IdMap
    allowed: np.ndarray
    penalty: np.ndarray
    personalized: bool
    fired: tuple[Fired, ...] = ()
    penalised: tuple[Fired, ...] = ()
    penalty_parts: tuple[np.ndarray, ...] = ()
    note: str | None = None
    client: Client | None = None

    @cached_property
    def exclusions(self) -> pd.DataFrame:
        """Every excluded product with every rule that excluded it.

        Columns ``product_id``, ``rule``, ``detail``; rows by product (dataset
        order), rules in the order they are checked
        (:data:`core.suggest.rules.RULE_NAMES`), so the first row of a product
        is the first rule that excluded it.
        """
        return self._frame(self.fired, None)

    @cached_property
    def penalties(self) -> pd.DataFrame:
        """Every soft penalty applied: columns ``product_id``, ``rule``, ``penalty``, ``detail``."""
        return self._frame(self.penalised, self.penalty_parts)

    def _frame(self, fired: Sequence[Fired], amounts: Sequence[np.ndarray] | None) -> pd.DataFrame:
        """One row per (product, rule) hit, by product then rule order; ``penalty`` with amounts."""
        columns: dict[str, pd.Series] = {
            "product_id": pd.Series(dtype=object),
            "rule": pd.Series(dtype=object),
        }
        if amounts is not None:
            columns["penalty"] = pd.Series(dtype=float)
        columns["detail"] = pd.Series(dtype=object)
        frames = []
        for order, f in enumerate(fired):
            idx = np.flatnonzero(f.mask)
            if idx.size:
                part: dict[str, object] = {"_i": idx, "_o": order, "rule": f.rule}
                if amounts is not None:
                    part["penalty"] = amounts[order][idx]
                part["detail"] = details(f.detail, idx)
                frames.append(pd.DataFrame(part))
        if not frames:
            return pd.DataFrame(columns)
        out = pd.concat(frames, ignore_index=True).sort_values(["_i", "_o"], kind="stable")
        out.insert(0, "product_id", self.product_ids.to_external(out["_i"].to_numpy()))
        return out.drop(columns=["_i", "_o"]).reset_index(drop=True)

    def excluded_by(self, product_id: str) -> list[tuple[str, str]]:
        """``(rule, detail)`` of every rule excluding ``product_id`` (empty if allowed)."""
        j = self.product_ids.to_internal_one(product_id)
        idx = np.array([j])
        return [(f.rule, details(f.detail, idx)[0]) for f in self.fired if f.mask[j]]

    def penalised_by(self, product_id: str) -> list[tuple[str, float, str]]:
        """``(rule, penalty, detail)`` of every penalty on ``product_id``."""
        j = self.product_ids.to_internal_one(product_id)
        idx = np.array([j])
        return [
            (f.rule, float(a[j]), details(f.detail, idx)[0])
            for f, a in zip(self.penalised, self.penalty_parts, strict=True)
            if f.mask[j]
        ]

    def why_not(self, product_id: str) -> str:
        """One sentence: which rule(s) excluded ``product_id``, or that none did.

        Examples: ``"Excluded by out_of_stock: 0 in Paris Saint-Honoré and 0
        online"``; ``"Not excluded by any rule; penalised by climate (-0.15):
        a heavy piece for a warm-climate store"``.
        """
        hits = self.excluded_by(product_id)
        if hits:
            text = "Excluded by " + "; also by ".join(f"{r}: {d}" for r, d in hits)
        else:
            text = "Not excluded by any rule"
            pens = self.penalised_by(product_id)
            if pens:
                text += "; penalised by " + "; ".join(f"{r} (-{p:.2f}): {d}" for r, p, d in pens)
        if self.note:
            text += f" ({self.note})"
        return text
