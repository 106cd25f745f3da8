"""What a search leaves behind: :class:`TuneResult`, the file it is kept in, and reading it back.

Apart from :mod:`core.engine.tune` so that the pages showing the last search
(Model health, Data) read it without importing the search itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.engine.config import EngineConfig
from core.exceptions import AtelierError

#: The file, next to ``engine.toml`` in the data folder, that keeps the last search.
TRIALS_FILE = "tune_trials.json"

#: What :func:`core.engine.tune.tune` maximises unless told otherwise: Recall@20 and
#: NDCG@10 together, each relative to the starting configuration. Chosen on the quality
#: benchmark (``benchmarks/bench_quality.py``, Online Retail and Complete Journey, both
#: protocols): searching on Recall@20 alone bought recall with NDCG (tuned Atelier below
#: the best peer's NDCG@10 on cells where its recall was above), while the composite kept
#: both at or above the best tuned peer on most cells (benchmarks/README.md has the table).
DEFAULT_OBJECTIVE = "Recall@20+NDCG@10"


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found.

    Attributes
    ----------
    best_config : EngineConfig
        The configuration of the best complete trial (save it with ``to_toml``).
    trials : DataFrame
        One row per trial: ``trial``, ``state`` (``complete``, ``pruned`` or
        ``fail``), each searched parameter, the objective (for a pruned trial:
        its running value when it was stopped), the other metrics of complete
        trials (``Recall@20``, ``NDCG@10``, ...), ``seconds``; best first.
    objective : str
        The metric that chose the best trial.
    validation : dict
        The validation window (protocol, dates, sizes).
    best_trial : int
        The number of the best trial (0: the starting configuration).
    importance : dict of str to float
        Optuna's parameter importances (empty with too few complete trials).
    search : dict
        How the search ran: sampler, pruner, budget, trials asked for, seconds.
    """

    best_config: EngineConfig
    trials: pd.DataFrame
    objective: str
    validation: dict[str, Any]
    best_trial: int = 0
    importance: dict[str, float] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as ``null``)."""
        records = self.trials.astype(object).where(self.trials.notna(), None)
        return {
            "objective": self.objective,
            "best_trial": self.best_trial,
            "best_config": self.best_config.to_dict(),
            "validation": self.validation,
            "importance": self.importance,
            "search": self.search,
            "trials": records.to_dict(orient="records"),
        }

    def gains(self) -> list[tuple[str, float, float]]:
        """``(metric, start, best)`` for each metric of the objective, then the objective itself
        when it is composite: trial 0's validation value and the best trial's."""
        parts = self.objective.split("+")
        names = parts + ([self.objective] if len(parts) > 1 else [])
        start = self.trials.loc[self.trials["trial"] == 0]
        best = self.trials.iloc[0]
        return [
            (
                name,
                float(start[name].iloc[0]) if len(start) and name in start else float("nan"),
                float(best[name]) if name in best else float("nan"),
            )
            for name in names
        ]

    def describe(self) -> str:
        """One line: each metric's start and best on validation, e.g. for the CLI."""
        parts = []
        for name, first, best in self.gains():
            label = f"{name} (relative to the start)" if "+" in name else name
            parts.append(f"{label} on validation: start {first:.4f}, best {best:.4f}")
        return "; ".join(parts)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (read back with :func:`read_tune_result`)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, default=str), encoding="utf-8")
        return path


def trials_path(data_dir: str | Path) -> Path:
    """Where the last search of a data folder is kept (next to its ``engine.toml``)."""
    return Path(data_dir) / TRIALS_FILE


def read_tune_result(path: str | Path) -> TuneResult | None:
    """A search saved by :meth:`TuneResult.save`; ``None`` when absent, unreadable or incomplete."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        trials = pd.DataFrame(data["trials"])
        if not {"trial", "state", str(data["objective"])} <= set(trials.columns):
            return None
        return TuneResult(
            best_config=EngineConfig.from_dict(data["best_config"]),
            trials=trials,
            objective=str(data["objective"]),
            validation=dict(data.get("validation", {})),
            best_trial=int(data.get("best_trial", 0)),
            importance={str(k): float(v) for k, v in data.get("importance", {}).items()},
            search=dict(data.get("search", {})),
        )
    except (OSError, ValueError, KeyError, TypeError, AtelierError):
        return None
