"""Engine commands: fit, recommend, evaluate, tune and bench, with their parsers."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, Unpack

from core.cli.common import Subparsers, engine_config, load, settings_for, with_bar
from core.engine.tune_result import DEFAULT_OBJECTIVE
from core.settings import REPO_ROOT, Settings

if TYPE_CHECKING:
    from core.data.dataset import Dataset
    from core.engine.config import EngineConfig
    from core.engine.models.base import Recommender
    from core.engine.tune import TuneResult


class TuneOptions(TypedDict, total=False):
    """The options of :func:`core.engine.tune.tune` the commands pass on."""

    budget_s: float | None
    n_trials: int
    seed: int
    protocol: str
    objective: str
    max_clients: int | None


def cmd_fit(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    out = Path(args.out) if args.out else settings.resolved_model_dir
    if not args.dask:
        fit_and_save(load(args), engine_config(args), out)
        return 0
    from core.engine.scale.cluster import fit_on_dask

    if not args.out:  # beside the in-memory model; where serve=per-client loads it
        out = settings.product_side_model_dir
    t0 = time.perf_counter()
    model = fit_on_dask(
        settings.data_dir, args.dask, engine_config(args), out=out, show_progress=True
    )
    print(
        f"product-side model, fit id {model.fit_report_['fit_id']}: "
        f"fitted in {time.perf_counter() - t0:.1f} s, saved to {out}"
    )
    return 0


def fit_and_save(ds: Dataset, config: EngineConfig, out: Path) -> None:
    """Fit the hybrid with ``config`` on ``ds``, save it into ``out`` and print the timings."""
    from core.engine.models.hybrid import HybridRecommender
    from core.engine.models.persistence import save_model

    t0 = time.perf_counter()
    model = HybridRecommender(config=config).fit(ds)
    save_model(model, out)
    timings = getattr(model, "fit_timings_", {})
    print(f"fitted in {time.perf_counter() - t0:.1f} s, saved to {out}")
    for k, v in timings.items():
        print(f"  {k:<20} {v:8.2f} s")


def cmd_recommend(args: argparse.Namespace) -> int:
    from core.app.bootstrap import load_or_fit_model
    from core.suggest.pipeline import Suggester
    from core.suggest.request import SuggestRequest
    from core.suggest.rules import RuleSet

    settings = settings_for(args)
    events = None
    model: Recommender
    if (args.serve or settings.serve) == "per-client":
        # A large house: products, clients and the product-side model; the client's events read now.
        from core.app.serving import open_served

        served = open_served(settings.data_dir, settings.product_side_model_dir)
        ds, model = served.dataset, served.model
        events = served.events(args.client)
    else:
        ds = load(args)
        model = load_or_fit_model(ds, settings)
    rules = RuleSet.from_toml(args.rules) if args.rules else RuleSet.default()
    suggester = Suggester(model, ds, rules)
    request = SuggestRequest(k=args.k, diversity=args.diversity, extra_events=events)
    result = suggester.suggest(args.client, request)
    client = ds.client(args.client)
    print(f"{client['first_name']} {client['last_name']} ({args.client}), tier {client['tier']}")
    if result.banner:
        print(f"! {result.banner}")
    for row in result.items.itertuples():
        print(f"{row.rank:>3}. {row.name} — {row.designer} — {row.price:,.0f}  [{row.score:.3f}]")
        print(f"     {row.reason}")
    if args.why_not:
        why = suggester.why_not(args.client, args.why_not, request)
        print(f"why not {args.why_not}? {why}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.engine.evaluation import evaluate_dataset

    ds = load(args)
    config = engine_config(args)
    report = with_bar(
        "evaluate",
        lambda bar: evaluate_dataset(
            ds, test_days=args.test_days, truth_dir=args.truth, config=config, progress=bar
        ),
    )
    out = Path(args.out) if args.out else settings_for(args).resolved_model_dir / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(report.to_json(), encoding="utf-8")
    (out / "report.md").write_text(report.to_markdown(), encoding="utf-8")
    print(report.to_markdown())
    print(f"\nwritten to {out}/report.json and report.md")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(settings_for(args).data_dir) / "engine.toml"
    result = tune_and_save(
        load(args),
        engine_config(args),
        out,
        budget_s=args.budget,
        n_trials=args.trials,
        seed=args.seed,
        protocol=args.protocol,
        objective=args.objective,
        max_clients=args.max_clients,
    )
    return 0 if result is not None else 2


def tune_and_save(
    ds: Dataset, base: EngineConfig, out: Path, **options: Unpack[TuneOptions]
) -> TuneResult | None:
    """Tune from ``base``; write the best configuration to ``out`` and the trials beside it.

    Returns the :class:`~core.engine.tune.TuneResult`, or ``None`` after printing why
    the search could not run (a bad option, too little data for a validation window).
    """
    from core.engine.tune import TRIALS_FILE, tune

    try:
        result = with_bar("tune", lambda bar: tune(ds, base, progress=bar, **options))
    except ValueError as err:
        print(f"error: tune: {err}", file=sys.stderr)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    result.best_config.to_toml(out)
    trials_file = result.save(out.with_name(TRIALS_FILE))
    shown = result.trials.drop(columns=["seconds"]).head(10)
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    search = result.search
    print(
        f"\n{len(result.trials)} trials in {search['seconds']:.0f} s ({search['complete']} complete, "
        f"{search['pruned']} pruned); {result.describe()} (trial {result.best_trial})"
    )
    print(f"best configuration written to {out}, trials to {trials_file}")
    return result


def tune_then_fit(args: argparse.Namespace) -> int:
    """After an import with ``--tune BUDGET``: tune on the imported folder, then fit and save."""
    from core.data.dataset import load_dataset
    from core.engine.config import EngineConfig

    folder = Path(args.out)
    ds = load_dataset(folder)
    result = tune_and_save(
        ds, EngineConfig(), folder / "engine.toml", budget_s=args.tune, n_trials=args.tune_trials
    )
    if result is None:
        print("the data is imported; the engine was not tuned and no model was fitted")
        return 2
    fit_and_save(ds, result.best_config, Settings(data_dir=folder).resolved_model_dir)
    return 0


def budget(text: str) -> float:
    """``--budget``/``--tune`` text as seconds (argparse shows the error)."""
    from core.engine.tune import parse_duration

    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    script = REPO_ROOT / "benchmarks" / "bench_engine.py"
    return subprocess.call([sys.executable, str(script), *args.rest])


# ------------------------------------------------------------------ parsers
def add_engine_commands(sub: Subparsers) -> None:
    """Register fit, recommend, evaluate, tune and bench on the subparsers ``sub``."""
    f = sub.add_parser("fit", help="fit the hybrid model and save it")
    f.add_argument("--config", help="engine configuration TOML (default data/engine.toml)")
    f.add_argument("--out", help="model folder (default data/model)")
    f.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="fit on Dask over the partitioned events, bucket by bucket: 'local' or 'local:N' "
        "starts N local workers, else a scheduler address (tcp://host:8786); saves a "
        "product-side model (default folder: data/model-products)",
    )
    f.set_defaults(fn=cmd_fit)

    rc = sub.add_parser("recommend", help="print suggestions with reasons for a client")
    rc.add_argument("--client", required=True)
    rc.add_argument("-k", type=int, default=10)
    rc.add_argument("--diversity", type=float, default=0.3)
    rc.add_argument("--rules", help="rules TOML (default: the built-in rules)")
    rc.add_argument("--why-not", help="a product id: say why it is not suggested")
    rc.add_argument(
        "--serve",
        choices=["memory", "per-client"],
        help="per-client: a partitioned house served from its product-side model (`fit --dask`), "
        "reading only this client's events; default: ATELIER_SERVE (memory)",
    )
    rc.set_defaults(fn=cmd_recommend)

    e = sub.add_parser("evaluate", help="temporal-split evaluation against baselines")
    e.add_argument("--test-days", type=int, default=28)
    e.add_argument("--config", help="engine configuration TOML (default data/engine.toml)")
    e.add_argument("--truth", help="ground-truth folder of generated data (default DATA/truth)")
    e.add_argument("--out", help="report folder (default data/model/evaluation)")
    e.set_defaults(fn=cmd_evaluate)

    _add_tune(sub)

    b = sub.add_parser("bench", help="run benchmarks/bench_engine.py (arguments passed through)")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=cmd_bench)


def _add_tune(sub: Subparsers) -> None:
    t = sub.add_parser(
        "tune", help="choose engine parameters on a validation split (Optuna, under a budget)"
    )
    t.add_argument("--config", help="starting configuration TOML (default data/engine.toml)")
    t.add_argument(
        "--budget", type=budget, default=600.0, help="time budget, e.g. 90s, 10m, 1h (10m)"
    )
    t.add_argument("--trials", type=int, default=100, help="most trials within the budget (100)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--protocol",
        choices=["time", "last_n"],
        default="time",
        help="validation window: the 28 days before the test window, or each client's "
        "interactions before their last 3",
    )
    t.add_argument(
        "--objective",
        default=DEFAULT_OBJECTIVE,
        help="metric(s) to maximise, e.g. Recall@20 or NDCG@10; joined by + the mean of each "
        f"relative to the start (default {DEFAULT_OBJECTIVE})",
    )
    t.add_argument("--max-clients", type=int, help="score a sample of the validation clients")
    t.add_argument(
        "--out",
        help="where to write the best configuration (default data/engine.toml); the trials "
        "go beside it (tune_trials.json)",
    )
    t.set_defaults(fn=cmd_tune)


def add_tune_options(parser: argparse.ArgumentParser) -> None:
    """``--tune BUDGET`` and ``--tune-trials``: an import that goes on to tune and fit."""
    parser.add_argument(
        "--tune",
        type=budget,
        metavar="BUDGET",
        help="then tune the engine on the imported data within BUDGET (e.g. 10m) and fit the "
        "model with the result (engine.toml, tune_trials.json and model/ in --out)",
    )
    parser.add_argument("--tune-trials", type=int, default=100, help="most trials with --tune")
