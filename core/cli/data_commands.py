"""Data commands: generate, validate, partition, import-retail and import-journey, with their parsers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from core.cli.common import Subparsers, counts_text, with_bar
from core.cli.engine_commands import add_tune_options, tune_then_fit
from core.exceptions import DataValidationError
from core.settings import DEFAULT_MAX_FILE_MB


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
    if args.no_embeddings:
        kwargs["embeddings"] = False
    t0 = time.perf_counter()
    counts = with_bar("generate", lambda bar: write_maison(Path(args.out), progress=bar, **kwargs))
    if args.demo:
        from core.app.bootstrap import DEMO_MARKER

        (Path(args.out) / DEMO_MARKER).write_text(
            json.dumps({"seed": args.seed, "counts": counts}), encoding="utf-8"
        )
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s: " + counts_text(counts))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from core.data.dataset import load_dataset

    try:
        ds = load_dataset(args.dir, max_file_mb=args.max_mb)
    except DataValidationError as err:
        print(err.report(), file=sys.stderr)
        return 1
    print(f"{args.dir}: valid. " + counts_text(ds.summary()))
    print(f"fingerprint {ds.fingerprint}; data as of {ds.as_of}")
    return 0


def cmd_partition(args: argparse.Namespace) -> int:
    from core.data.partitioned import partition_folder, read_manifest
    from core.data.partitioned.serve_copy import add_serve_copies

    t0 = time.perf_counter()
    if args.serve_copies:
        n = with_bar("serving copies", lambda bar: add_serve_copies(args.dir, progress=bar))
        print(
            f"{args.dir}: wrote the serving copies of {n:,} bucket{'s' if n != 1 else ''} "
            f"in {time.perf_counter() - t0:.1f} s"
            if n
            else f"{args.dir}: the layout has its serving copies already"
        )
        return 0
    out = Path(args.out) if args.out else Path(args.dir)
    counts = with_bar(
        "partition",
        lambda bar: partition_folder(args.dir, out, n_buckets=args.buckets, progress=bar),
    )
    buckets = read_manifest(out / "events").n_buckets
    print(
        f"partitioned {args.dir} into {out}/clients and {out}/events "
        f"({buckets:,} bucket{'s' if buckets != 1 else ''}) in {time.perf_counter() - t0:.1f} s: "
        + counts_text(counts)
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
        + counts_text(counts)
    )
    print(consent_line(args.assume_consent, counts.get("clients", 0)))
    return tune_then_fit(args) if args.tune is not None else 0


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
        f"{time.perf_counter() - t0:.1f} s: " + counts_text(counts)
    )
    print(consent_line(args.assume_consent, counts.get("clients", 0)))
    return tune_then_fit(args) if args.tune is not None else 0


# ------------------------------------------------------------------ parsers
def add_data_commands(sub: Subparsers) -> None:
    """Register generate, validate, partition, import-retail and import-journey on ``sub``."""
    _add_generate(sub)

    v = sub.add_parser("validate", help="validate a data folder and print the report")
    v.add_argument("dir")
    v.add_argument("--max-mb", type=float, default=DEFAULT_MAX_FILE_MB, help="largest file to read")
    v.set_defaults(fn=cmd_validate)

    pa = sub.add_parser(
        "partition", help="write a data folder's clients and events as client buckets (Parquet)"
    )
    pa.add_argument("dir", help="the data folder")
    pa.add_argument("--out", help="where clients/ and events/ go (default: the data folder)")
    pa.add_argument("--buckets", type=int, help="number of buckets (default: ~2M events each)")
    pa.add_argument(
        "--serve-copies",
        action="store_true",
        help="add the serving copies (per-client reads) to a folder partitioned before they existed",
    )
    pa.set_defaults(fn=cmd_partition)

    _add_imports(sub)


def _add_generate(sub: Subparsers) -> None:
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
        "--no-embeddings",
        action="store_true",
        help="do not write product_embeddings.parquet (planted image embeddings)",
    )
    g.add_argument(
        "--demo", action="store_true", help="mark as demo data (demo users get passwords)"
    )
    g.set_defaults(fn=cmd_generate)


def _add_imports(sub: Subparsers) -> None:
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
    add_tune_options(r)
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
    add_tune_options(j)
    j.set_defaults(fn=cmd_import_journey)
