"""Quality benchmark: Atelier against ordinary tuned peers, on three data sets and two protocols.

Usage (from the repository root; takes about ten minutes for everything)::

    python benchmarks/bench_quality.py --json quality.json
    python benchmarks/bench_quality.py --datasets retail --protocols last_n --models ease,atelier

Data sets (``--datasets``): ``maison`` (the generated maison), ``retail``
(Online Retail sample) and ``journey`` (Complete Journey sample), each through
the product's own generator or importer (:mod:`quality.data`). Protocols
(``--protocols``): ``global_time`` (the last ``--test-fraction`` of the time
span is test) and ``last_n`` (each client's last ``--last-n`` interactions are
test), see :mod:`core.engine.evaluation.split`. Every peer is tuned over its
printed grid on the validation split carved from the training part, then
fitted on the training part and scored once on the test part
(:mod:`quality.grid`); Atelier is measured with the default configuration and
after :func:`core.engine.tune.tune` on the same validation split.

Every model ranks the whole catalogue minus what the client saw in training;
metrics are over the evaluated clients (at least two training products, at
least one relevant test product): Recall@20, NDCG@10, Precision@10,
Coverage@20, ``ColdRecall@20`` (recall of the relevant cold products -- no
training event -- within the same top 20, over clients with one),
``ColdOnlyRecall@20`` (the same clients' cold products when only cold
products are ranked), fit seconds and the p50 of one client's ranking
(scores, exclusions, top 20) in milliseconds. Seeded and deterministic but
for the timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from quality.data import DATASETS, Sources, load
from quality.grid import (
    OBJECTIVE,
    Tuned,
    atelier_default,
    atelier_part,
    atelier_tuned,
    grid_search,
    peer_specs,
)

from core.engine.evaluation import EvaluationReport, Split, evaluate, make_split
from core.engine.evaluation.report import json_ready, markdown_table
from core.engine.tune import DEFAULT_OBJECTIVE, parse_duration

PROTOCOLS: tuple[str, ...] = ("global_time", "last_n")
#: ``atelier_order_blind`` is the default without its next-step block
#: (``sequence_weight=0``): the block's effect, cell by cell.
ATELIER: tuple[str, ...] = ("atelier", "atelier_order_blind", "atelier_tuned")
#: The hybrid's parts alone, on request only (``--models ...,atelier_cf,atelier_content``).
PARTS: tuple[str, ...] = ("atelier_cf", "atelier_content")
COLUMNS: dict[str, str] = {
    "Recall@20": "Recall@20",
    "NDCG@10": "NDCG@10",
    "Precision@10": "Precision@10",
    "Coverage@20": "Coverage@20",
    "ColdRecall@20": "ColdRecall@20",
    "ColdOnlyRecall@20": "ColdOnlyRecall@20",
    "fit_s": "fit s",
    "latency_ms_p50": "ms/client",
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _split(ds: Any, protocol: str, args: argparse.Namespace) -> Split:
    if protocol == "global_time":
        return make_split(ds, protocol, test_fraction=args.test_fraction)
    return make_split(ds, protocol, n_test=args.last_n)


def _tune_all(split: Split, models: list[str], args: argparse.Namespace) -> tuple[list[Tuned], Any]:
    """Each selected model tuned on the validation split (Atelier default as is)."""
    specs = peer_specs(args.seed)
    tuned: list[Tuned] = []
    tune_result = None
    for name in models:
        t0 = time.perf_counter()
        if name in specs:
            tuned.append(
                grid_search(
                    specs[name],
                    split,
                    max_clients=args.max_val_clients,
                    seed=args.seed,
                    quick=args.quick,
                )
            )
        elif name == "atelier":
            tuned.append(atelier_default())
        elif name in PARTS or name == "atelier_order_blind":
            tuned.append(atelier_part(name))
        else:
            result, tune_result = atelier_tuned(
                split,
                n_trials=args.tune_trials,
                budget_s=args.tune_budget,
                max_clients=args.max_val_clients,
                seed=args.seed,
                objective=args.tune_objective,
            )
            tuned.append(result)
        _log(f"  tuned {name} in {time.perf_counter() - t0:.1f} s: {tuned[-1].params}")
    if tune_result is not None and "atelier" in models:
        # The tuner's trial 0 is the default configuration: its validation score.
        trials = tune_result.trials
        first = float(trials.loc[trials["trial"] == 0, OBJECTIVE].iloc[0])
        i = models.index("atelier")
        tuned[i] = dataclasses.replace(tuned[i], validation=first)
    return tuned, tune_result


def _table(report: EvaluationReport, tuned: list[Tuned]) -> pd.DataFrame:
    m = report.metrics
    slices = report.slices.set_index(["model", "slice"])
    rows = []
    for t in tuned:
        row: dict[str, Any] = {"model": t.name}
        for key in ("Recall@20", "NDCG@10", "Precision@10", "Coverage@20"):
            row[key] = float(m.loc[t.name, key])
        row["ColdRecall@20"] = float(slices.loc[(t.name, "cold_products"), "Recall@20"])
        row["ColdOnlyRecall@20"] = float(slices.loc[(t.name, "cold_only"), "Recall@20"])
        row["fit_s"] = float(m.loc[t.name, "fit_s"])
        row["latency_ms_p50"] = float(m.loc[t.name, "latency_ms_p50"])
        row["val " + OBJECTIVE] = t.validation
        row["params"] = _params_text(t.params)
        rows.append(row)
    return pd.DataFrame(rows)


def _params_text(params: dict[str, Any]) -> str:
    if not params:
        return "default"
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def _ratios(table: pd.DataFrame, report: EvaluationReport) -> list[dict[str, Any]]:
    """Each Atelier row over the best peer per metric, with a 95 % paired bootstrap interval."""
    peers = table.loc[~table["model"].isin(ATELIER + PARTS)]
    out: list[dict[str, Any]] = []
    if peers.empty:
        return out
    for metric in ("Recall@20", "NDCG@10"):
        best = peers.loc[peers[metric].idxmax()]
        for name in ATELIER:
            if name in report.per_client and best[metric] > 0:
                ratio, low, high = report.ratio(name, str(best["model"]), metric)
                out.append(
                    {
                        "model": name,
                        "metric": metric,
                        "peer": str(best["model"]),
                        "ratio": ratio,
                        "low": low,
                        "high": high,
                    }  # fmt: skip
                )
    return out


def _verdict(table: pd.DataFrame, ratios: list[dict[str, Any]]) -> list[str]:
    """Atelier against the best peer, as ratios with their intervals."""
    by_name = table.set_index("model")
    lines = [
        f"- {r['model']} / best peer ({r['peer']}) on {r['metric']}: {r['ratio']:.2f} "
        f"[95 % paired bootstrap over clients {r['low']:.2f}-{r['high']:.2f}] "
        f"({by_name.loc[r['model'], r['metric']]:.4f} vs {by_name.loc[r['peer'], r['metric']]:.4f})"
        for r in ratios
    ]
    if {"atelier", "atelier_order_blind"} <= set(by_name.index):
        blind = by_name.loc["atelier_order_blind"]
        gains = [
            f"{metric} {by_name.loc['atelier', metric] / blind[metric]:.3f}x"
            for metric in ("Recall@20", "NDCG@10")
            if blind[metric] > 0
        ]
        lines.append(f"- next-step block (atelier / atelier_order_blind): {', '.join(gains)}")
    return lines


def _grids_text(tuned: list[Tuned]) -> list[str]:
    lines = []
    for t in tuned:
        if t.trials.empty:
            continue
        shown = t.trials.drop(columns=[c for c in ("point", "trial", "total_s") if c in t.trials])
        keep = [
            c for c in shown.columns if c not in ("Recall@10", "NDCG@10", "MAP@10", "Coverage@20")
        ]
        lines += [
            "",
            f"#### {t.name}: validation grid ({len(shown)} points, {t.seconds:.0f} s)",
            "",
        ]
        lines += markdown_table(shown[keep].head(12))
    return lines


def run_cell(
    ds: Any, name: str, protocol: str, models: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Tune, fit, score and print one data set x protocol."""
    t0 = time.perf_counter()
    split = _split(ds, protocol, args)
    assert split.validation is not None
    n_val = split.validation.summary()["test_clients"]
    _log(f"{name} / {protocol}: {split.summary()['test_clients']} test clients, {n_val} validation")
    tuned, tune_result = _tune_all(split, models, args)
    report = evaluate(
        {t.name: t.factory for t in tuned},
        split=split,
        k_list=(10, 20),
        cold_only=True,
        latency_clients=args.latency_clients,
        seed=args.seed,
    )
    table = _table(report, tuned)
    cold = report.slices.set_index(["model", "slice"]).loc[(tuned[0].name, "cold_products")]
    touched = split.train.events["product_id"].nunique()
    n_cold = len(split.train.products) - touched
    p = report.protocol
    header = (
        f"### {name} / {protocol}: {p['n_clients']} clients, {p['test_pairs']} relevant pairs, "
        f"{int(cold['n_clients'])} clients with {int(cold['n_pairs'])} cold pairs; "
        f"{n_cold} cold products (ColdOnlyRecall@20 of a random order ~ "
        f"{min(1.0, 20 / max(n_cold, 1)):.3f}); tuned on {n_val} validation clients"
    )
    shown = table.rename(columns=COLUMNS)
    ratios = _ratios(table, report)
    lines = [header, "", *markdown_table(shown), "", *_verdict(table, ratios)]
    if tune_result is not None:
        lines.append(
            f"- atelier_tuned changed: {_params_text(tuned[models.index('atelier_tuned')].params)}"
        )
    lines += _grids_text(tuned)
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    _log(f"{name} / {protocol} done in {time.perf_counter() - t0:.0f} s")
    return {
        "dataset": name,
        "protocol": protocol,
        "split": {**split.summary(), "validation": split.validation.summary()},
        "rows": table.to_dict(orient="records"),
        "ratios": ratios,
        "report": report.to_dict(),
        "grids": {t.name: t.trials.to_dict(orient="records") for t in tuned if not t.trials.empty},
        "markdown": text,
        "seconds": time.perf_counter() - t0,
    }


def _choices(text: str, allowed: tuple[str, ...] | list[str], what: str) -> list[str]:
    chosen = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in chosen if c not in allowed]
    if bad or not chosen:
        raise SystemExit(f"--{what}: choose among {', '.join(allowed)} (got {text!r})")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    models = [*peer_specs(0), *ATELIER]
    optional = ", ".join(PARTS)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--datasets", default=",".join(DATASETS), help=f"among {', '.join(DATASETS)}")
    p.add_argument("--protocols", default=",".join(PROTOCOLS), help=f"among {', '.join(PROTOCOLS)}")
    p.add_argument(
        "--models",
        default=",".join(models),
        help=f"among {', '.join(models)} (and, on request, {optional})",
    )
    p.add_argument("--retail", type=Path, default=Sources.retail, help="Online Retail CSV")
    p.add_argument("--journey-transactions", type=Path, default=Sources.journey_transactions)
    p.add_argument("--journey-products", type=Path, default=Sources.journey_products)
    p.add_argument("--maison-clients", type=int, default=Sources.maison_clients)
    p.add_argument("--maison-products", type=int, default=Sources.maison_products)
    p.add_argument("--maison-seed", type=int, default=Sources.maison_seed)
    p.add_argument(
        "--test-fraction", type=float, default=0.2, help="global_time: test share of the span"
    )
    p.add_argument("--last-n", type=int, default=3, help="last_n: interactions held out per client")
    p.add_argument(
        "--tune-trials",
        type=int,
        default=16,
        help="most trials of core.engine.tune (Optuna TPE) for atelier_tuned",
    )
    p.add_argument(
        "--tune-budget",
        type=parse_duration,
        default=None,
        help="time budget of that search per cell, e.g. 90s, 10m (default: none, the trials cap)",
    )
    p.add_argument(
        "--tune-objective",
        default=DEFAULT_OBJECTIVE,
        help="what the tuner maximises, e.g. Recall@20 or Recall@20+NDCG@10 (the mean of both "
        f"relative to the default configuration; default {DEFAULT_OBJECTIVE})",
    )
    p.add_argument(
        "--max-val-clients",
        type=int,
        default=None,
        help="validation clients scored per trial (seeded sample)",
    )
    p.add_argument("--latency-clients", type=int, default=100, help="clients timed one by one")
    p.add_argument(
        "--quick", action="store_true", help="each grid axis's first and last value only"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument("--markdown", type=Path, help="also write the tables here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    datasets = _choices(args.datasets, DATASETS, "datasets")
    protocols = _choices(args.protocols, PROTOCOLS, "protocols")
    models = _choices(args.models, [*peer_specs(0), *ATELIER, *PARTS], "models")
    sources = Sources(
        retail=args.retail,
        journey_transactions=args.journey_transactions,
        journey_products=args.journey_products,
        maison_clients=args.maison_clients,
        maison_products=args.maison_products,
        maison_seed=args.maison_seed,
    )
    t0 = time.perf_counter()
    intro = _intro(models, args)
    print(intro, flush=True)
    cells, imports = [], {}
    for name in datasets:
        ds, imports[name] = load(name, sources)
        _log(f"loaded {name}: {ds.summary()}")
        for protocol in protocols:
            cells.append(run_cell(ds, name, protocol, models, args))
    total = time.perf_counter() - t0
    print(f"total {total / 60:.1f} min", flush=True)
    if args.markdown:
        args.markdown.write_text(
            intro + "\n" + "\n".join(c["markdown"] for c in cells), encoding="utf-8"
        )
    if args.json:
        payload = {
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "imports": imports,
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "matrices": {s.name: s.reads for s in peer_specs(args.seed).values()},
            "cells": [{k: v for k, v in c.items() if k != "markdown"} for c in cells],
            "total_s": total,
        }
        args.json.write_text(
            json.dumps(json_ready(payload), indent=2, allow_nan=False), encoding="utf-8"
        )
    return 0


def _intro(models: list[str], args: argparse.Namespace) -> str:
    specs = peer_specs(args.seed)
    lines = ["## Quality benchmark", "", "What each model reads and the grid it is tuned over:", ""]
    for name in models:
        if name in specs:
            grid = "; ".join(f"{k} in {list(v)}" for k, v in specs[name].grid.items())
            lines.append(f"- {name}: {specs[name].reads}; grid {grid}")
        elif name == "atelier":
            lines.append("- atelier: HybridRecommender() with the default EngineConfig")
        elif name == "atelier_order_blind":
            lines.append(
                "- atelier_order_blind: the default HybridRecommender without its next-step "
                "block (sequence_weight=0)"
            )
        elif name in PARTS:
            part = "SVDRecommender" if name == "atelier_cf" else "ContentRecommender"
            lines.append(f"- {name}: {part}() alone, default EngineConfig (the hybrid's part)")
        else:
            budget = f" within {args.tune_budget:.0f} s" if args.tune_budget else ""
            lines.append(
                f"- atelier_tuned: core.engine.tune.tune, Optuna TPE (median pruning), at most "
                f"{args.tune_trials} trials{budget} over its DEFAULT_SPACE on the same "
                "validation split"
            )
    lines += [
        "",
        "Every model excludes what the client saw in training; tuned on the validation split "
        f"(peers' grids on {OBJECTIVE}, Atelier's tuner on {args.tune_objective}), scored once "
        f"on the test part. Seed {args.seed}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
