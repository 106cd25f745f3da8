"""What the Model health page shows, as plain DataFrames (no Streamlit, no client PII out).

- the last evaluation report as tables (metrics against the baselines, slices,
  planted-taste recovery);
- outcome measurement from the database: shared items built from the shares'
  snapshots, attributed to later purchases (:mod:`core.app.outcomes`), acceptance
  of model suggestions from list items and removals, holdout lift;
- data freshness (latest event, rows per table, files);
- which rules drop the most products, over a seeded sample of clients;
- the saved model's fingerprint and configuration.

Every output is an aggregate: client ids go in (to join shares and
purchases), never out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.app.outcomes import (
    DEFAULT_WINDOW_DAYS,
    LiftReport,
    acceptance,
    attribute_shares,
    conversion_summary,
    holdout_lift,
    return_rates,
)
from core.data.dataset import Dataset
from core.data.embeddings import EMBEDDINGS_TABLE, find_embeddings_file

if TYPE_CHECKING:
    from pandas._libs import NaTType
from core.data.loading import find_table_files
from core.data.schema import COLS
from core.engine.evaluation import SUMMARY_COLUMNS, EvaluationReport
from core.engine.house import house_of
from core.engine.purchases import events_of
from core.store.records import CuratedListRecord, RemovalRecord, ShareRecord
from core.suggest.holdout import holdout_mask
from core.suggest.rules import RuleSet

#: Columns of :func:`shared_items`.
SHARED_ITEM_COLUMNS: tuple[str, ...] = (
    COLS.share_id,
    COLS.client_id,
    COLS.product_id,
    COLS.shared_at,
    COLS.author_id,
    COLS.channel,
)
#: Columns of :func:`acceptance_frame`.
ACCEPTANCE_COLUMNS: tuple[str, ...] = (
    "kept",
    "associate_id",
    "reason_type",
    "removal_reason",
)
#: Columns of :func:`rule_drops`.
RULE_DROP_COLUMNS: tuple[str, ...] = (
    "rule",
    "products_dropped",
    "first_rule_drops",
    "clients_affected",
    "mean_per_client",
    "catalogue_share",
)
#: Reason types, matched on the associate wording of :mod:`core.suggest.reasons` (first match wins).
REASON_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("past purchase", ("bought the",)),
    ("try-on", ("tried on",)),
    ("wishlist", ("wishlisted",)),
    ("browsing", ("viewed the", "looked closely", "clicked the", "opened an email")),
    ("stated preference", ("stated preference",)),
    ("taste attributes", ("preference for",)),
    ("new arrival", ("new arrival", "new this season")),
    ("trend", ("trending",)),
    ("popularity", ("popular", "favourite")),
    ("overall taste", ("overall taste", "close to the")),
)


# --------------------------------------------------------------- evaluation
def metrics_table(
    report: EvaluationReport, columns: Sequence[str] = SUMMARY_COLUMNS
) -> pd.DataFrame:
    """One row per evaluated model with the summary metrics, the engine's models first.

    Adds ``vs best baseline`` (relative Recall@20 change against the best of
    the popularity and item-kNN baselines) when those rows are present.
    """
    cols = [c for c in columns if c in report.metrics.columns]
    table = report.metrics[cols].astype(float).copy()
    baselines = [m for m in table.index if str(m).startswith(("popularity", "item_knn"))]
    if baselines and "Recall@20" in table.columns:
        best = float(table.loc[baselines, "Recall@20"].max())
        table["vs best baseline"] = (table["Recall@20"] / best - 1.0) if best > 0 else np.nan
    order = {"hybrid": 0, "svd": 1, "content": 2}
    table = table.reset_index()
    table["_o"] = table["model"].map(lambda m: order.get(str(m), 3))
    return table.sort_values(["_o", "model"]).drop(columns="_o").reset_index(drop=True)


def slices_table(report: EvaluationReport, model: str | None = None) -> pd.DataFrame:
    """The cold-client, cold-product, warm and all slices (of one model, or every model)."""
    s = report.slices
    if s is None or s.empty:
        return pd.DataFrame()
    if model is not None and "model" in s.columns:
        s = s[s["model"] == model]
    return s.reset_index(drop=True)


def slices_pivot(slices: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per slice: its size (``n_clients``, ``n_pairs``) and ``metric`` per model.

    The size is the slice's, the same for every model (they are scored on one split).
    """
    pivot = slices.pivot_table(index="slice", columns="model", values=metric)
    pivot.columns = [str(c) for c in pivot.columns]
    size_cols = [c for c in ("n_clients", "n_pairs") if c in slices.columns]
    sizes = slices.groupby("slice")[size_cols].max()
    return sizes.join(pivot).reset_index()


# ---------------------------------------------------------------- freshness
def data_freshness(
    dataset: Dataset, event_log: tuple[int, pd.Timestamp | None] | None = None
) -> pd.DataFrame:
    """Rows and the latest date of each table: ``table``, ``rows``, ``latest``.

    ``event_log`` gives the events' rows and latest time for a dataset served
    without them (:meth:`core.app.serving.Served.event_log`).
    """
    latest_cols = {"events": "timestamp", "products": "launch_date", "clients": "created_at"}
    rows = []
    for name, df in dataset.tables.items():
        col = latest_cols.get(name)
        latest: pd.Timestamp | NaTType = pd.NaT
        n = int(len(df))
        if name == "events" and event_log is not None:
            n, found = event_log
            latest = pd.NaT if found is None else found
        elif col is not None and col in df.columns and len(df):
            latest = pd.to_datetime(df[col], errors="coerce").max()
        rows.append({"table": name, "rows": n, "latest": latest})
    return pd.DataFrame(rows)


def table_files(data_dir: str | Path) -> pd.DataFrame:
    """The file of each table: ``table``, ``file``, ``size_mb``, ``modified`` (local time).

    The optional ``product_embeddings`` table included, when the folder has its file.
    """
    rows = []
    files = find_table_files(Path(data_dir))
    embeddings = find_embeddings_file(Path(data_dir))
    if embeddings is not None:
        files[EMBEDDINGS_TABLE] = embeddings
    for name, path in files.items():
        info = path.stat()
        rows.append(
            {
                "table": name,
                "file": path.name,
                "size_mb": info.st_size / 2**20,
                "modified": pd.Timestamp(info.st_mtime, unit="s").floor("s"),
            }
        )
    return pd.DataFrame(rows, columns=["table", "file", "size_mb", "modified"])


# -------------------------------------------------------------- model info
def config_hash(config: Mapping[str, object]) -> str:
    """A short hash of an engine configuration (as saved with a model)."""
    text = json.dumps(dict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def config_frame(config: Mapping[str, object]) -> pd.DataFrame:
    """An engine configuration as ``parameter``/``value`` rows (nested tables flattened)."""
    rows = []
    for key, value in config.items():
        if isinstance(value, Mapping):
            rows += [{"parameter": f"{key}.{k}", "value": str(v)} for k, v in value.items()]
        else:
            rows.append({"parameter": str(key), "value": str(value)})
    return pd.DataFrame(rows, columns=["parameter", "value"])


def tuned_changes(trials: pd.DataFrame, params: Sequence[str], best_trial: int) -> pd.DataFrame:
    """The searched parameters at the start (trial 0) and in the best trial, changed ones first.

    Parameters
    ----------
    trials : DataFrame
        :attr:`core.engine.tune.TuneResult.trials`.
    params : sequence of str
        The searched parameters (columns of ``trials``).
    best_trial : int
    """
    by_trial = trials.set_index("trial")
    if 0 not in by_trial.index or best_trial not in by_trial.index:
        return pd.DataFrame(columns=["parameter", "start", "best", "changed"])
    rows = []
    for p in params:
        start, best = by_trial.at[0, p], by_trial.at[best_trial, p]
        rows.append(
            {
                "parameter": p,
                "start": _shown(start),
                "best": _shown(best),
                "changed": _shown(start) != _shown(best),
            }
        )
    frame = pd.DataFrame(rows, columns=["parameter", "start", "best", "changed"])
    return frame.sort_values("changed", ascending=False, kind="stable").reset_index(drop=True)


def _shown(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


def model_fingerprint(data_fingerprint: str, config: Mapping[str, object]) -> str:
    """The model's identity: the data it was fitted on and its configuration."""
    return f"{data_fingerprint}·{config_hash(config)}"


# ---------------------------------------------------------------- outcomes
def shared_items(shares: Iterable[ShareRecord]) -> pd.DataFrame:
    """One row per product sent to a client, from the shares' snapshots.

    A snapshot is what the client saw (:meth:`core.app.lookbook.Lookbook.to_snapshot`):
    its ``items`` carry the ``product_id``. Columns :data:`SHARED_ITEM_COLUMNS`;
    ``shared_at`` is naive UTC.
    """
    rows = []
    for share in shares:
        items = share.snapshot.get("items") if isinstance(share.snapshot, Mapping) else None
        for item in items or []:
            pid = item.get("product_id") if isinstance(item, Mapping) else None
            if pid:
                rows.append(
                    (
                        share.id,
                        share.client_id,
                        str(pid),
                        share.created_at,
                        share.author_id,
                        share.channel,
                    )
                )
    frame = pd.DataFrame(rows, columns=list(SHARED_ITEM_COLUMNS))
    frame[COLS.shared_at] = pd.to_datetime(frame[COLS.shared_at], utc=True).dt.tz_localize(None)
    return frame.drop_duplicates([COLS.share_id, COLS.product_id]).reset_index(drop=True)


def reason_type(reason: str | None) -> str:
    """The kind of reason an associate was shown ("past purchase", "trend", ...)."""
    text = (reason or "").strip().lower()
    if not text:
        return "not recorded"
    for kind, needles in REASON_TYPES:
        if any(n in text for n in needles):
            return kind
    return "other"


def acceptance_frame(
    lists: Iterable[CuratedListRecord], removals: Iterable[RemovalRecord]
) -> pd.DataFrame:
    """Model suggestions associates acted on: kept on a list, or removed.

    Kept rows are the model-sourced items still on a list (the associate is the
    list's author; the reason type is read from the reason shown). Removed rows
    are the removals (the removal reason is the associate's; the reason type is
    read from the reason the item showed, kept with the removal since schema
    version 3 -- older removals read "not recorded"). Columns :data:`ACCEPTANCE_COLUMNS`.
    """
    rows = []
    for lst in lists:
        for item in lst.items:
            if item.source == "model":
                rows.append((True, lst.author_id, reason_type(item.reason), ""))
    for r in removals:
        rows.append(
            (
                False,
                r.removed_by,
                reason_type(r.reason_shown),
                r.reason.strip() or "no reason given",
            )
        )
    return pd.DataFrame(rows, columns=list(ACCEPTANCE_COLUMNS))


@dataclass(frozen=True)
class OutcomeReport:
    """Outcome measurement for the Model health page (aggregates only).

    Attributes
    ----------
    n_shares, n_items : int
        Shares recorded and products sent.
    conversion : dict
        From :func:`core.app.outcomes.conversion_summary` (items and shares, with intervals).
    by_match : DataFrame
        Converted items by match kind (``exact``, ``variant``).
    by_channel : DataFrame
        ``channel``, ``items``, ``converted``, ``rate``.
    lift : LiftReport or None
        Model vs holdout clients; ``None`` when no holdout group is configured.
    holdout_share : float
    window_days : int
    returns : DataFrame
        Return and fit-return rates of purchases of shared suggestions
        against other purchases (:func:`core.app.outcomes.return_rates`).
    """

    n_shares: int
    n_items: int
    conversion: dict[str, Any]
    by_match: pd.DataFrame
    by_channel: pd.DataFrame
    lift: LiftReport | None
    holdout_share: float
    window_days: int
    returns: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.n_shares == 0


def measure_outcomes(
    shares: Sequence[ShareRecord],
    dataset: Dataset,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    holdout_share: float = 0.0,
    clients_events: Callable[[Sequence[str]], pd.DataFrame] | None = None,
) -> OutcomeReport:
    """Attribution of shared items and, with a holdout group, lift.

    Parameters
    ----------
    shares : sequence of ShareRecord
        Every share (``store.shares.all_shares()``).
    dataset : Dataset
        Purchases after the shares come from its events.
    window_days : int
        A purchase counts within this many days after the share.
    holdout_share : float
        Share of clients in the holdout group (:func:`core.suggest.holdout.in_holdout`);
        0 means no holdout, and no lift is computed.
    clients_events : callable, optional
        For a dataset served without events
        (:meth:`core.app.serving.Served.events_of_clients`): the contacted
        clients' events, read together; the other purchases' returns come
        from the house's sums.
    """
    items = shared_items(shares)
    events = dataset.events
    if clients_events is not None and len(items):
        events = clients_events([str(c) for c in items["client_id"].unique()])
    attributed = attribute_shares(items, events, dataset.products, window_days=window_days)
    conversion = conversion_summary(attributed)
    conv = attributed[attributed["converted"]]
    by_match = conv.groupby("match").size().rename("items").reset_index()
    by_channel = (
        attributed.groupby("channel")["converted"].agg(items="count", converted="sum").reset_index()
        if len(attributed)
        else pd.DataFrame(columns=["channel", "items", "converted"])
    )
    by_channel["rate"] = by_channel["converted"] / by_channel["items"].where(
        by_channel["items"] > 0
    )
    lift = None
    if holdout_share > 0 and len(items):
        first = items.groupby("client_id")["shared_at"].min().rename("contacted_at")
        contacted = first.reset_index()
        contacted["holdout"] = holdout_mask(contacted["client_id"], holdout_share)
        lift = holdout_lift(contacted, events, window_days=window_days)
    return OutcomeReport(
        n_shares=int(items["share_id"].nunique()) if len(items) else len(shares),
        n_items=len(items),
        conversion=conversion,
        by_match=by_match,
        by_channel=by_channel,
        lift=lift,
        holdout_share=holdout_share,
        window_days=window_days,
        returns=return_rates(attributed, events, house=_house_returns(dataset)),
    )


def _house_returns(dataset: Dataset) -> tuple[int, int, int] | None:
    """The house's purchase and return counts of a dataset served without events, else ``None``."""
    house = house_of(dataset)
    if house is None:
        return None
    n, r, f = (int(x) for x in house.purchase_returns)
    return n, r, f


def acceptance_tables(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Acceptance by associate and by reason type, and the removal reasons."""
    if frame.empty:
        return {}
    removed = frame[~frame["kept"]]
    reasons = (
        removed.groupby("removal_reason")
        .size()
        .rename("removals")
        .reset_index()
        .sort_values(["removals", "removal_reason"], ascending=[False, True])
        .reset_index(drop=True)
    )
    return {
        "overall": acceptance(frame.assign(all="all model suggestions"), "all"),
        "associate": acceptance(frame, "associate_id"),
        "reason_type": acceptance(frame, "reason_type"),
        "removal_reasons": reasons,
    }


# -------------------------------------------------------------- rule drops
def sample_clients(dataset: Dataset, n: int = 100, seed: int = 0) -> list[str]:
    """A seeded sample of client ids (all of them when there are fewer than ``n``)."""
    ids = dataset.clients["client_id"].astype(str).to_numpy()
    if len(ids) <= n:
        return list(ids)
    rng = np.random.default_rng(seed)
    return list(ids[np.sort(rng.choice(len(ids), size=n, replace=False))])


def rule_drops(
    dataset: Dataset,
    rules: RuleSet | None = None,
    client_ids: Sequence[str] | None = None,
    *,
    n_clients: int = 100,
    seed: int = 0,
    clients_events: Callable[[Sequence[str]], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Which rules exclude the most products, over a sample of clients.

    Parameters
    ----------
    dataset : Dataset
    rules : RuleSet, optional
        Default :meth:`RuleSet.default`.
    client_ids : sequence of str, optional
        Default: :func:`sample_clients` of ``n_clients``.
    clients_events : callable, optional
        For a dataset served without events
        (:meth:`core.app.serving.Served.events_of_clients`): the sampled
        clients' events, read together, so the rules see what they bought.

    Returns
    -------
    DataFrame
        Columns :data:`RULE_DROP_COLUMNS`, most drops first:
        ``products_dropped`` (client x product pairs the rule excludes),
        ``first_rule_drops`` (pairs where it is the first rule that excludes),
        ``clients_affected``, ``mean_per_client`` and ``catalogue_share``
        (mean share of the catalogue it excludes per client).
    """
    rules = rules or RuleSet.default()
    ids = list(client_ids) if client_ids is not None else sample_clients(dataset, n_clients, seed)
    n_products = max(len(dataset.products), 1)
    counts: dict[str, list[int]] = {}
    first: dict[str, int] = {}
    read = None if clients_events is None else clients_events(ids)
    for cid in ids:
        ex = rules.apply(dataset, cid, extra_events=events_of(read, cid)).exclusions
        if ex.empty:
            continue
        per_rule = ex.groupby("rule", sort=False).size()
        for rule, n in per_rule.items():
            counts.setdefault(str(rule), []).append(int(n))
        for rule, n in ex.drop_duplicates("product_id").groupby("rule").size().items():
            first[str(rule)] = first.get(str(rule), 0) + int(n)
    n_clients_seen = max(len(ids), 1)
    rows = [
        {
            "rule": rule,
            "products_dropped": int(sum(v)),
            "first_rule_drops": int(first.get(rule, 0)),
            "clients_affected": len(v),
            "mean_per_client": sum(v) / n_clients_seen,
            "catalogue_share": sum(v) / n_clients_seen / n_products,
        }
        for rule, v in counts.items()
    ]
    out = pd.DataFrame(rows, columns=list(RULE_DROP_COLUMNS))
    return out.sort_values(["products_dropped", "rule"], ascending=[False, True]).reset_index(
        drop=True
    )


def as_naive(ts: datetime | pd.Timestamp | None) -> pd.Timestamp | None:
    """A timestamp as naive UTC (``None`` stays ``None``)."""
    if ts is None:
        return None
    t = pd.Timestamp(ts)
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t
