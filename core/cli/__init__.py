"""Command line: ``python -m core SUBCOMMAND`` (alias ``atelier``).

Subcommands: init, generate, validate, partition, import-retail, import-journey, fit,
recommend, evaluate, tune, bench, credentials, users, erase. ``--help`` on each explains it.
Errors from the core are printed as one readable message (exit code 2), never
as a traceback.

The commands live by family: :mod:`core.cli.data_commands` (generate, validate,
partition, the importers), :mod:`core.cli.engine_commands` (fit, recommend, evaluate,
tune, bench) and :mod:`core.cli.admin_commands` (init, credentials, users, erase);
each module registers its own parsers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.cli.admin_commands import add_admin_commands, add_init_command
from core.cli.common import Bar
from core.cli.data_commands import add_data_commands, consent_line
from core.cli.engine_commands import add_engine_commands
from core.exceptions import AtelierError, DataValidationError

__all__ = ["Bar", "build_parser", "consent_line", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m core`` parser, its subcommands in the order ``--help`` lists them."""
    p = argparse.ArgumentParser(
        prog="python -m core",
        description="Atelier: data, model and users from the command line.",
    )
    p.add_argument("--data", help="data folder (default: ATELIER_DATA_DIR or ./data)")
    sub = p.add_subparsers(dest="command", required=True)
    add_data_commands(sub)
    add_init_command(sub)
    add_engine_commands(sub)
    add_admin_commands(sub)
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
