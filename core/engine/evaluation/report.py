"""The evaluation report: metrics, slices, taste recovery; JSON and markdown.

:class:`EvaluationReport` is what :func:`core.engine.evaluation.evaluate`
returns and what the dashboard's model-health page reads back from JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.engine.evaluation.metrics import ratio_interval

#: Columns of the markdown summary (the JSON holds every metric at every k).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "Recall@10",
    "Recall@20",
    "NDCG@10",
    "Precision@10",
    "MAP@10",
    "HitRate@10",
    "Coverage@20",
    "Diversity@10",
    "Novelty@10",
)


@dataclass
class EvaluationReport:
    """Results of :func:`evaluate`; serialisable for the dashboard.

    Attributes
    ----------
    metrics : DataFrame
        One row per model (index ``model``): every metric at every k
        (``Recall@10``, ``NDCG@20``, ``Coverage@20``, ...), ``fit_s`` and
        ``score_s`` (seconds), ``n_clients``.
    slices : DataFrame
        Columns ``model``, ``slice``, ``n_clients``, ``n_pairs``, then
        ``Recall@k`` and ``NDCG@k``: the ``all``, ``warm_clients``,
        ``cold_clients`` (no training event) and ``cold_products`` (relevant
        products with no training interaction; recall over those pairs only)
        slices, plus ``cold_share@k``, the share of suggestions that are
        cold products.
    taste : DataFrame or None
        With a generator ground truth: ``model``, ``segment_share`` (share of
        top-k suggestions in the client's planted segments),
        ``catalogue_share`` (share of the catalogue in those segments, the
        chance level), ``lift``.
    protocol : dict
        The split and the settings, for the record.
    per_client : dict of str to DataFrame
        Per model, one row per evaluated client (``client_id``, ``Recall@k``,
        ``NDCG@k``, ``Precision@k``), the same clients in the same order for
        every model: what :func:`~core.engine.evaluation.metrics.ratio_interval`
        resamples. Kept in memory only (not in the JSON).
    """

    metrics: pd.DataFrame
    slices: pd.DataFrame
    taste: pd.DataFrame | None = None
    protocol: dict[str, Any] = field(default_factory=dict)
    per_client: dict[str, pd.DataFrame] = field(default_factory=dict)

    def ratio(
        self, model: str, other: str, metric: str = "Recall@20", level: float = 0.95, seed: int = 0
    ) -> tuple[float, float, float]:
        """``metric`` of ``model`` over ``other``'s, with a paired bootstrap interval.

        See :func:`~core.engine.evaluation.metrics.ratio_interval`.

        Raises
        ------
        KeyError
            When either model's per-client rows are not held (a report read
            back from JSON has none).
        """
        for name in (model, other):
            if name not in self.per_client:
                raise KeyError(f"no per-client metrics for model {name!r} in this report")
        return ratio_interval(
            self.per_client[model][metric].to_numpy(),
            self.per_client[other][metric].to_numpy(),
            level=level,
            seed=seed,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "metrics": self.metrics.reset_index().to_dict(orient="records"),
            "slices": self.slices.to_dict(orient="records"),
            "taste": None if self.taste is None else self.taste.to_dict(orient="records"),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text (also written to ``path`` when given).

        NaN values become ``null``.
        """
        text = json.dumps(json_ready(self.to_dict()), indent=2, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> EvaluationReport:
        """Read a report written by :meth:`to_json` (JSON text or a file path)."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        data = json.loads(text)
        metrics = pd.DataFrame.from_records(data["metrics"]).set_index("model")
        slices = pd.DataFrame.from_records(data["slices"])
        taste = None if data.get("taste") is None else pd.DataFrame.from_records(data["taste"])
        return cls(
            metrics=metrics.astype({c: float for c in metrics.columns if c != "n_clients"}),
            slices=slices,
            taste=taste,
            protocol=data.get("protocol", {}),
        )

    def best(self, metric: str = "Recall@20") -> str:
        """Name of the model with the highest ``metric``."""
        return str(self.metrics[metric].astype(float).idxmax())

    def to_markdown(self, columns: Sequence[str] = SUMMARY_COLUMNS) -> str:
        """A readable summary: the main table, the slices and taste recovery."""
        p = self.protocol
        lines = ["## Offline evaluation", ""]
        if p:
            lines.append(_protocol_sentence(p))
            lines.append("")
        cols = [c for c in columns if c in self.metrics.columns]
        extra = [c for c in ("fit_s",) if c in self.metrics.columns]
        table = self.metrics[cols + extra].reset_index()
        lines += markdown_table(table)
        if len(self.slices):
            lines += ["", "### Slices", ""]
            lines += markdown_table(self.slices)
        if self.taste is not None and len(self.taste):
            lines += ["", "### Planted taste recovery", ""]
            lines += markdown_table(self.taste)
        return "\n".join(lines) + "\n"


def _protocol_sentence(p: dict[str, Any]) -> str:
    """One sentence on the split a report was measured on."""
    who = (
        f"{p.get('n_clients', '?')} clients with {p.get('test_pairs', '?')} relevant "
        f"({', '.join(p.get('relevant_events', []))}) pairs"
    )
    protocol = p.get("protocol", "temporal")
    if protocol == "global_time":
        return (
            f"Global time split at {str(p.get('cutoff', '?'))[:19]} (the last "
            f"{float(p.get('test_fraction', 0)):.0%} of the time span is test): {who}; "
            "products a client saw in training are excluded for every model."
        )
    if protocol == "last_n":
        return (
            f"Last-{p.get('n_test', '?')} split (each client's last {p.get('n_test', '?')} "
            f"interactions are test): {who}; products a client saw in training are "
            "excluded for every model."
        )
    return (
        f"Temporal split at {str(p.get('cutoff', '?'))[:10]}: test window of "
        f"{p.get('test_days', '?')} days, {who}; products bought before the cutoff "
        "are excluded for every model."
    )


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars, timestamps and tuples made JSON-able; NaN and inf become None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "–"
        v = float(value)
        return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"
    return str(value)


def markdown_table(df: pd.DataFrame) -> list[str]:
    """The lines of a markdown table of ``df`` (its index left out); floats with 4 decimals."""
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return [header, rule, *body]
