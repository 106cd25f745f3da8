"""Setup and administration commands: init, credentials, users and erase, with their parsers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.common import Subparsers, settings_for, with_bar


def cmd_init(args: argparse.Namespace) -> int:
    from core.app.bootstrap import (
        ensure_data,
        ensure_demo_users,
        format_credentials,
        load_data,
        load_or_fit_model,
    )
    from core.store.db import init_db, make_engine, session_factory

    settings = settings_for(args)
    with_bar("data", lambda bar: ensure_data(settings, bar))
    ds = load_data(settings)
    with_bar("model", lambda bar: load_or_fit_model(ds, settings, bar))
    engine = make_engine(settings.resolved_database_url)
    init_db(engine)
    creds = ensure_demo_users(settings, ds, session_factory(engine))
    if creds:
        print(format_credentials(creds, per_role=2))
    print(f"ready: {settings.data_dir} (fingerprint {ds.fingerprint})")
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    from core.app.bootstrap import format_credentials, is_demo, read_demo_credentials

    settings = settings_for(args)
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

    settings = settings_for(args)
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

    settings = settings_for(args)
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


# ------------------------------------------------------------------ parsers
def add_init_command(sub: Subparsers) -> None:
    """Register init on the subparsers ``sub``."""
    i = sub.add_parser("init", help="generate data if missing, fit the model, create the database")
    i.set_defaults(fn=cmd_init)


def add_admin_commands(sub: Subparsers) -> None:
    """Register credentials, users and erase on the subparsers ``sub``."""
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
