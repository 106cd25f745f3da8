"""Command line: ``python -m core SUBCOMMAND`` (alias ``atelier``).

Subcommands: init, generate, validate, partition, import-retail, import-journey, fit,
recommend, evaluate, tune, bench, credentials, users, erase. ``--help`` on each explains it.
Errors from the core are printed as one readable message (exit code 2), never
as a traceback.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.exceptions import AtelierError, DataValidationError
from core.settings import REPO_ROOT, Settings, get_settings


class Bar:
    """A progress display on stderr for long steps (tqdm when it is a terminal)."""

    def __init__(self, title: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=100, desc=title, unit="%", file=sys.stderr, leave=True)
        self._last = 0

    def __call__(self, message: str, fraction: float) -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        self._bar.set_postfix_str(message[:60], refresh=False)
        if pct > self._last:
            self._bar.update(pct - self._last)
            self._last = pct
        else:
            self._bar.refresh()

    def close(self) -> None:
        if self._last < 100:
            self._bar.update(100 - self._last)
        self._bar.close()


def _with_bar(title: str, fn: Callable[[Callable[[str, float], None]], Any]) -> Any:
    bar = Bar(title)
    try:
        return fn(bar)
    finally:
        bar.close()


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data", None):
        overrides["data_dir"] = Path(args.data)
    return Settings(**overrides) if overrides else get_settings()


def _load(args: argparse.Namespace) -> Any:
    from core.app.bootstrap import load_data

    return load_data(_settings(args))


def _engine_config(args: argparse.Namespace) -> Any:
    """--config if given, else the data folder's engine.toml (written by tune), else defaults."""
    from core.engine.config import EngineConfig

    if getattr(args, "config", None):
        return EngineConfig.from_toml(args.config)
    tuned = Path(_settings(args).data_dir) / "engine.toml"
    return EngineConfig.from_toml(tuned) if tuned.is_file() else EngineConfig()


# ----------------------------------------------------------------- commands
def cmd_generate(args: argparse.Namespace) -> int:
    from core.data.generate import write_maison

    kwargs: dict[str, Any] = {"seed": args.seed, "fmt": args.format}
    if args.clients is not None:
        kwargs["n_clients"] = args.clients
    if args.products is not None:
        kwargs["n_products"] = args.products
    if args.events is not None:
        kwargs["n_events"] = args.events
    if args.rising_segment:
        kwargs["rising_segment"] = args.rising_segment
    t0 = time.perf_counter()
    counts = _with_bar("generate", lambda bar: write_maison(Path(args.out), progress=bar, **kwargs))
    if args.demo:
        from core.app.bootstrap import DEMO_MARKER

        (Path(args.out) / DEMO_MARKER).write_text(
            json.dumps({"seed": args.seed, "counts": counts}), encoding="utf-8"
        )
    print(
        f"wrote {args.out} in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from core.data.dataset import load_dataset

    try:
        ds = load_dataset(args.dir, max_file_mb=args.max_mb)
    except DataValidationError as err:
        print(err.report(), file=sys.stderr)
        return 1
    print(f"{args.dir}: valid. " + ", ".join(f"{k} {v:,}" for k, v in ds.summary().items()))
    print(f"fingerprint {ds.fingerprint}; data as of {ds.as_of}")
    return 0


def cmd_partition(args: argparse.Namespace) -> int:
    from core.data.partitioned import partition_folder, read_manifest

    out = Path(args.out) if args.out else Path(args.dir)
    t0 = time.perf_counter()
    counts = _with_bar(
        "partition",
        lambda bar: partition_folder(args.dir, out, n_buckets=args.buckets, progress=bar),
    )
    buckets = read_manifest(out / "events").n_buckets
    print(
        f"partitioned {args.dir} into {out}/clients and {out}/events "
        f"({buckets:,} bucket{'s' if buckets != 1 else ''}) in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    return 0


def cmd_import_retail(args: argparse.Namespace) -> int:
    from core.data.importers.online_retail import import_online_retail

    t0 = time.perf_counter()
    counts = import_online_retail(
        args.csv, args.out, overwrite=args.overwrite, assume_consent=args.assume_consent
    )
    print(
        f"imported {args.csv} into {args.out} in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    print(consent_line(args.assume_consent, counts.get("clients", 0)))
    return _tune_then_fit(args) if args.tune is not None else 0


def consent_line(assumed: bool, clients: int) -> str:
    """What an import assumed about consent to personalisation, in one sentence."""
    if assumed:
        return (
            f"consent to personalisation: ASSUMED for all {clients:,} clients "
            "(--assume-consent); consent to contact: not assumed"
        )
    return (
        f"consent to personalisation: not assumed, none of the {clients:,} clients has it "
        "(they get generic suggestions until an associate records it; pass "
        "--assume-consent only if your house holds it for all of them); "
        "consent to contact: not assumed"
    )


def cmd_import_journey(args: argparse.Namespace) -> int:
    from core.data.importers.complete_journey import import_complete_journey

    t0 = time.perf_counter()
    counts = import_complete_journey(
        args.transactions,
        args.products,
        args.out,
        assume_consent=args.assume_consent,
        overwrite=args.overwrite,
    )
    print(
        f"imported {args.transactions} and {args.products} into {args.out} in "
        f"{time.perf_counter() - t0:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    print(consent_line(args.assume_consent, counts.get("clients", 0)))
    return _tune_then_fit(args) if args.tune is not None else 0


def cmd_init(args: argparse.Namespace) -> int:
    from core.app.bootstrap import (
        ensure_data,
        ensure_demo_users,
        format_credentials,
        load_data,
        load_or_fit_model,
    )
    from core.store.db import init_db, make_engine, session_factory

    settings = _settings(args)
    _with_bar("data", lambda bar: ensure_data(settings, bar))
    ds = load_data(settings)
    _with_bar("model", lambda bar: load_or_fit_model(ds, settings, bar))
    engine = make_engine(settings.resolved_database_url)
    init_db(engine)
    creds = ensure_demo_users(settings, ds, session_factory(engine))
    if creds:
        print(format_credentials(creds, per_role=2))
    print(f"ready: {settings.data_dir} (fingerprint {ds.fingerprint})")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    settings = _settings(args)
    out = Path(args.out) if args.out else settings.resolved_model_dir
    if not args.dask:
        _fit_and_save(_load(args), _engine_config(args), out)
        return 0
    from core.engine.scale.cluster import fit_on_dask

    if not args.out:  # beside the in-memory model, which the dashboard loads
        out = out.with_name(f"{out.name}-products")
    t0 = time.perf_counter()
    model = fit_on_dask(
        settings.data_dir, args.dask, _engine_config(args), out=out, show_progress=True
    )
    print(
        f"product-side model, fit id {model.fit_report_['fit_id']}: "
        f"fitted in {time.perf_counter() - t0:.1f} s, saved to {out}"
    )
    return 0


def _fit_and_save(ds: Any, config: Any, out: Path) -> None:
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

    settings = _settings(args)
    ds = _load(args)
    model = load_or_fit_model(ds, settings)
    rules = RuleSet.from_toml(args.rules) if args.rules else RuleSet.default()
    suggester = Suggester(model, ds, rules)
    request = SuggestRequest(k=args.k, diversity=args.diversity)
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

    ds = _load(args)
    config = _engine_config(args)
    report = _with_bar(
        "evaluate",
        lambda bar: evaluate_dataset(
            ds, test_days=args.test_days, truth_dir=args.truth, config=config, progress=bar
        ),
    )
    out = Path(args.out) if args.out else _settings(args).resolved_model_dir / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(report.to_json(), encoding="utf-8")
    (out / "report.md").write_text(report.to_markdown(), encoding="utf-8")
    print(report.to_markdown())
    print(f"\nwritten to {out}/report.json and report.md")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path(_settings(args).data_dir) / "engine.toml"
    result = _tune_and_save(
        _load(args),
        _engine_config(args),
        out,
        budget_s=args.budget,
        n_trials=args.trials,
        seed=args.seed,
        protocol=args.protocol,
        objective=args.objective,
        max_clients=args.max_clients,
    )
    return 0 if result is not None else 2


def _tune_and_save(ds: Any, base: Any, out: Path, **options: Any) -> Any:
    """Tune from ``base``; write the best configuration to ``out`` and the trials beside it.

    Returns the :class:`~core.engine.tune.TuneResult`, or ``None`` after printing why
    the search could not run (a bad option, too little data for a validation window).
    """
    from core.engine.tune import TRIALS_FILE, tune

    try:
        result = _with_bar("tune", lambda bar: tune(ds, base, progress=bar, **options))
    except ValueError as err:
        print(f"error: tune: {err}", file=sys.stderr)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    result.best_config.to_toml(out)
    trials_file = result.save(out.with_name(TRIALS_FILE))
    shown = result.trials.drop(columns=["seconds"]).head(10)
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    search = result.search
    start = result.trials.loc[result.trials["trial"] == 0, result.objective].iloc[0]
    best = result.trials[result.objective].iloc[0]
    print(
        f"\n{len(result.trials)} trials in {search['seconds']:.0f} s ({search['complete']} complete, "
        f"{search['pruned']} pruned); {result.objective} on validation: start {start:.4f}, "
        f"best {best:.4f} (trial {result.best_trial})"
    )
    print(f"best configuration written to {out}, trials to {trials_file}")
    return result


def _tune_then_fit(args: argparse.Namespace) -> int:
    """After an import with ``--tune BUDGET``: tune on the imported folder, then fit and save."""
    from core.data.dataset import load_dataset
    from core.engine.config import EngineConfig

    folder = Path(args.out)
    ds = load_dataset(folder)
    result = _tune_and_save(
        ds, EngineConfig(), folder / "engine.toml", budget_s=args.tune, n_trials=args.tune_trials
    )
    if result is None:
        print("the data is imported; the engine was not tuned and no model was fitted")
        return 2
    _fit_and_save(ds, result.best_config, Settings(data_dir=folder).resolved_model_dir)
    return 0


def _budget(text: str) -> float:
    """``--budget``/``--tune`` text as seconds (argparse shows the error)."""
    from core.engine.tune import parse_duration

    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    script = REPO_ROOT / "benchmarks" / "bench_engine.py"
    return subprocess.call([sys.executable, str(script), *args.rest])


def cmd_credentials(args: argparse.Namespace) -> int:
    from core.app.bootstrap import format_credentials, is_demo, read_demo_credentials

    settings = _settings(args)
    creds = read_demo_credentials(settings)
    if not creds:
        if not is_demo(Path(settings.data_dir)):
            print(
                "No demo credentials: this is not the generated demo data. "
                "Create users with `python -m core users create`."
            )
        else:
            print("No demo users yet: start the dashboard or run `python -m core init`.")
        return 1
    print(format_credentials(creds))
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from core.store import SYSTEM_ACTOR, Store

    settings = _settings(args)
    users = Store.open(settings).users
    if args.action == "list":
        for u in users.list_users():
            print(
                f"{u.user_id:<10} {u.role:<10} {u.store_id or '-':<10} "
                f"{'active' if u.active else 'inactive':<9} {u.name}"
            )
        return 0
    if args.action == "create":
        if not (args.user_id and args.name and args.role):
            print("users create needs --user-id, --name and --role", file=sys.stderr)
            return 2
        _, password = users.create_user(
            args.user_id, args.name, args.role, store_id=args.store, actor_id=SYSTEM_ACTOR
        )
        print(f"created {args.user_id}; initial password (shown once): {password}")
        return 0
    if args.action == "reset-password":
        print(
            f"new password for {args.user_id} (shown once): {users.reset_password(args.user_id, actor_id=SYSTEM_ACTOR)}"
        )
        return 0
    if args.action == "deactivate":
        users.deactivate(args.user_id, actor_id=SYSTEM_ACTOR)
        print(f"{args.user_id} deactivated")
        return 0
    return 2


def cmd_erase(args: argparse.Namespace) -> int:
    from core.app.erasure import client_rows, erase_client
    from core.store import SYSTEM_ACTOR, Store

    settings = _settings(args)
    rows = client_rows(settings, args.client_id)
    print(
        f"Erasing {args.client_id} removes their profile and {rows['events']:,} event(s) from "
        f"{settings.data_dir}, their row from the saved model, and their lists, shares, "
        "removals and consent changes from the database. This cannot be undone."
    )
    if not args.yes:
        try:
            answer = input(f"Type the client id ({args.client_id}) to confirm: ")
        except EOFError:
            answer = ""
        if answer.strip() != args.client_id:
            print("Not confirmed: nothing was erased.", file=sys.stderr)
            return 1
    store = Store.open(settings)
    try:
        result = erase_client(settings, store, args.client_id, actor_id=SYSTEM_ACTOR)
    finally:
        store.close()
    deleted = sum(result.database_rows.values())
    print(
        f"erased {result.client_id}: {result.data_rows['clients']} profile, "
        f"{result.data_rows['events']:,} event(s), model {result.model}, "
        f"{deleted} database row(s)"
    )
    return 0


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m core",
        description="Atelier: data, model and users from the command line.",
    )
    p.add_argument("--data", help="data folder (default: ATELIER_DATA_DIR or ./data)")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate the sample maison (or benchmark data)")
    g.add_argument("--out", required=True, help="folder to write the tables into")
    g.add_argument("--clients", type=int, help="number of clients (default 5,000)")
    g.add_argument("--products", type=int, help="number of products (default 1,200)")
    g.add_argument("--events", type=int, help="approximate number of events")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument(
        "--format",
        choices=["csv", "parquet", "partitioned"],
        default="csv",
        help="partitioned: clients and events in client buckets (for data beyond one machine)",
    )
    g.add_argument("--rising-segment", help="plant a segment whose demand rises lately")
    g.add_argument(
        "--demo", action="store_true", help="mark as demo data (demo users get passwords)"
    )
    g.set_defaults(fn=cmd_generate)

    v = sub.add_parser("validate", help="validate a data folder and print the report")
    v.add_argument("dir")
    v.add_argument("--max-mb", type=float, default=512.0, help="largest file to read")
    v.set_defaults(fn=cmd_validate)

    pa = sub.add_parser(
        "partition", help="write a data folder's clients and events as client buckets (Parquet)"
    )
    pa.add_argument("dir", help="the data folder")
    pa.add_argument("--out", help="where clients/ and events/ go (default: the data folder)")
    pa.add_argument("--buckets", type=int, help="number of buckets (default: ~2M events each)")
    pa.set_defaults(fn=cmd_partition)

    r = sub.add_parser("import-retail", help="import the UCI Online Retail transactions layout")
    r.add_argument("csv", help="the Online Retail CSV")
    r.add_argument("--out", required=True, help="folder to write the contract tables into")
    r.add_argument("--overwrite", action="store_true")
    r.add_argument(
        "--assume-consent",
        action="store_true",
        help="mark every imported client as consenting to personalisation (default: none "
        "does; use only when the house holds that consent for all of them)",
    )
    r.add_argument(
        "--tune",
        type=_budget,
        metavar="BUDGET",
        help="then tune the engine on the imported data within BUDGET (e.g. 10m) and fit the "
        "model with the result (engine.toml, tune_trials.json and model/ in --out)",
    )
    r.add_argument("--tune-trials", type=int, default=100, help="most trials with --tune")
    r.set_defaults(fn=cmd_import_retail)

    j = sub.add_parser(
        "import-journey", help="import dunnhumby's Complete Journey transactions and products"
    )
    j.add_argument("transactions", help="the transactions CSV (e.g. transactions_sample.csv)")
    j.add_argument("products", help="the products CSV")
    j.add_argument("--out", required=True, help="folder to write the contract tables into")
    j.add_argument(
        "--assume-consent",
        action="store_true",
        help="mark every household as consenting to personalisation (the data has no consent)",
    )
    j.add_argument("--overwrite", action="store_true")
    j.add_argument(
        "--tune",
        type=_budget,
        metavar="BUDGET",
        help="then tune the engine on the imported data within BUDGET (e.g. 10m) and fit the "
        "model with the result (engine.toml, tune_trials.json and model/ in --out)",
    )
    j.add_argument("--tune-trials", type=int, default=100, help="most trials with --tune")
    j.set_defaults(fn=cmd_import_journey)

    i = sub.add_parser("init", help="generate data if missing, fit the model, create the database")
    i.set_defaults(fn=cmd_init)

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
    rc.set_defaults(fn=cmd_recommend)

    e = sub.add_parser("evaluate", help="temporal-split evaluation against baselines")
    e.add_argument("--test-days", type=int, default=28)
    e.add_argument("--config", help="engine configuration TOML (default data/engine.toml)")
    e.add_argument("--truth", help="ground-truth folder of generated data (default DATA/truth)")
    e.add_argument("--out", help="report folder (default data/model/evaluation)")
    e.set_defaults(fn=cmd_evaluate)

    t = sub.add_parser(
        "tune", help="choose engine parameters on a validation split (Optuna, under a budget)"
    )
    t.add_argument("--config", help="starting configuration TOML (default data/engine.toml)")
    t.add_argument(
        "--budget", type=_budget, default=600.0, help="time budget, e.g. 90s, 10m, 1h (10m)"
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
    t.add_argument("--objective", default="Recall@20", help="metric to maximise (Recall@20)")
    t.add_argument("--max-clients", type=int, help="score a sample of the validation clients")
    t.add_argument(
        "--out",
        help="where to write the best configuration (default data/engine.toml); the trials "
        "go beside it (tune_trials.json)",
    )
    t.set_defaults(fn=cmd_tune)

    b = sub.add_parser("bench", help="run benchmarks/bench_engine.py (arguments passed through)")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=cmd_bench)

    c = sub.add_parser("credentials", help="show the demo sign-ins generated on first start")
    c.set_defaults(fn=cmd_credentials)

    u = sub.add_parser("users", help="manage users: list, create, reset-password, deactivate")
    u.add_argument("action", choices=["list", "create", "reset-password", "deactivate"])
    u.add_argument("--user-id")
    u.add_argument("--name")
    u.add_argument("--role", choices=["associate", "stylist", "manager", "admin"])
    u.add_argument("--store")
    u.set_defaults(fn=cmd_users)

    er = sub.add_parser(
        "erase",
        help="erase a client: profile and events from the data, their model row, their lists",
    )
    er.add_argument("client_id", help="the client's id")
    er.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    er.set_defaults(fn=cmd_erase)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except DataValidationError as err:
        print(err.report(), file=sys.stderr)
        return 1
    except AtelierError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
